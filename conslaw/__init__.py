"""conslaw: discover conservation laws in trajectory data and use them as Noether losses."""

__version__ = "0.1.0"
