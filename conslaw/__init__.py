"""conslaw: discover conservation laws in trajectory data and use them as Noether losses."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """Lazy exports, so that ``import conslaw`` (and the CLI) start without loading torch."""
    if name in ("ConservationSearch", "Law"):
        from conslaw import api

        return getattr(api, name)
    if name == "NoetherLoss":
        from conslaw.tailoring import NoetherLoss

        return NoetherLoss
    raise AttributeError(f"module 'conslaw' has no attribute {name!r}")


__all__ = ["ConservationSearch", "Law", "NoetherLoss", "__version__"]
