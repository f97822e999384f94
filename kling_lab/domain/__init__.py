"""Pure rules with no IO: what a job's states mean, what counts as charged, where a retry goes."""
