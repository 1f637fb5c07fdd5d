"""One route table per group of use cases."""
