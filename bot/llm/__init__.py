"""Local GGUF models: where they come from and how they generate."""
