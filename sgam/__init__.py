"""sgam: smart-grid use cases (IEC 62559-2) as text, mapped onto the SGAM."""
