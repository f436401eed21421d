"""Models on disk: the local store, Hub downloads, EXL2 quantization."""
