"""The shared codec under hypothesis: round trips, and garbage never becomes a command."""

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core.fwpath import linkcodec as lc

frames = st.builds(
    lc.Frame,
    st.sampled_from([lc.T_HEARTBEAT, lc.T_ARM, lc.T_START, lc.T_SET, lc.T_STOP, lc.T_STATUS]),
    st.integers(0, 255), st.integers(0, 255), st.binary(max_size=lc.MAX_PAYLOAD),
)


@given(st.lists(frames, max_size=8), st.integers(1, 17))
def test_round_trip_in_any_chunking(fs, chunk):
    wire = b"".join(lc.encode_frame(f) for f in fs)
    d = lc.Decoder()
    out = []
    for i in range(0, len(wire), chunk):
        out.extend(d.feed(wire[i:i + chunk]))
    assert out == fs


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_random_bytes_never_crash_and_yield_nothing(data):
    d = lc.Decoder()
    assert d.feed(data) == []


@settings(max_examples=300)
@given(frames, st.data())
def test_corrupted_or_truncated_frames_are_dropped(frame, data):
    wire = bytearray(lc.encode_frame(frame))
    how = data.draw(st.sampled_from(["flip", "byte", "truncate"]))
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 3))):
            i = data.draw(st.integers(1, len(wire) - 2))
            wire[i] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "byte":
        i = data.draw(st.integers(1, len(wire) - 2))
        wire[i] = data.draw(st.integers(0, 255).filter(lambda b, old=wire[i]: b != old))
    else:
        wire = wire[: data.draw(st.integers(1, len(wire) - 2))]
    d = lc.Decoder()
    out = d.feed(bytes(wire) + lc.encode(lc.T_HEARTBEAT, 1, 1))
    # Whatever happened, no *other* command than the one sent comes out.
    assert all(f == frame or (f.type, f.seq) == (lc.T_HEARTBEAT, 1) for f in out)
    assert out[-1].type == lc.T_HEARTBEAT  # and the link resynchronises at once
