"""Data quality gates: the DQDL rules of ``quality/``, their translation to SQL, their evaluation."""
