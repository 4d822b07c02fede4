"""conslaw: discover conservation laws in trajectory data and use them as Noether losses."""

__version__ = "0.2.1"


def __getattr__(name: str):
    """Lazy exports, so that ``import conslaw`` (and the CLI) start without loading torch."""
    if name == "ConservationSearch":
        from conslaw.engine import ConservationSearch

        return ConservationSearch
    if name == "Law":
        from conslaw.law import Law

        return Law
    if name == "SearchConfig":
        from conslaw.config import SearchConfig

        return SearchConfig
    if name == "NoetherLoss":
        from conslaw.tailoring import NoetherLoss

        return NoetherLoss
    raise AttributeError(f"module 'conslaw' has no attribute {name!r}")


__all__ = ["ConservationSearch", "Law", "NoetherLoss", "SearchConfig", "__version__"]
