"""What changed between a take and the take it came from: "T006 from T003: cfg 0.5 → 0.7, 'rain' → 'fog'"."""
