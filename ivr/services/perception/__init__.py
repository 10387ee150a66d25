"""The perception gap: what agents believed callers felt against what callers said."""
