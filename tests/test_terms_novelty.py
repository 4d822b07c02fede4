"""When a candidate adds a law to those the multi-term search has accepted
(``conslaw.terms.solve.AcceptedSpan``)."""
import numpy as np
import pytest

from conslaw.terms.solve import AcceptedSpan


@pytest.mark.parametrize("share, adds", [(1e-8, False), (1e-7, False), (1e-4, True), (1e-2, True)])
def test_a_law_adds_to_the_accepted_span_only_with_a_part_of_its_own_beyond_a_millionth(share, adds):
    """Three terms: the first conserved (an accepted law), the second not, the third nearly (ratio
    1e-9). A candidate of the accepted law plus the third term adds a law only when the third
    holds at least ``NEW_SHARE`` of its variation on the null (noiseless two-body data once gave
    a Runge-Lenz component plus a steady part 5e-10 of it, accepted as a fourth law)."""
    A, B = np.diag([0.0, 1.0, 1e-9]), np.eye(3)
    span = AcceptedSpan(A, B, [np.array([1.0, 0.0, 0.0])], limit=1e-6)
    candidate = np.array([1.0, 0.0, np.sqrt(share / (1 - share))])  # its third term's share of B
    assert span.adds(candidate) is adds
    assert span.adds(np.array([1.0, 1e-3, 0.0])) is False  # plus a part that is not conserved
