"""Use cases: one function each, one transaction each. Every rule of PRODUCT.md lives here."""
