"""trainyard: run Argo workflows on shared GPUs, locally or on an Argo cluster."""

__version__ = "0.1.0"
