"""The rules of PRODUCT.md in plain Python: no database, no web."""
