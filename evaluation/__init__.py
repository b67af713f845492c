"""Evaluation: scores the answer core on article-QA benchmarks (`kutip-eval`) and measures speed (`make bench`)."""
