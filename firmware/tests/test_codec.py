"""Codec tests; run under MicroPython and CPython by run.py (and by pytest)."""

import linkcodec as lc


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return True
    raise AssertionError("did not raise %s" % exc.__name__)


def test_crc_check_value():
    assert lc.crc16(b"123456789") == 0x29B1


def test_cobs_round_trip_and_no_zeros():
    samples = [b"", b"\x00", b"\x00\x00", b"\x11\x22\x00\x33", bytes(range(256)),
               bytes([1] * 300), bytes([0] * 10)]
    for s in samples:
        enc = lc.cobs_encode(s)
        assert 0 not in enc
        assert lc.cobs_decode(enc) == s


def test_cobs_rejects_malformed_blocks():
    raises(ValueError, lc.cobs_decode, b"\x05\x01")
    raises(ValueError, lc.cobs_decode, b"\x02\x00")


def test_frame_round_trip():
    payload = lc.pack_setpoint(650, 75)
    wire = lc.encode(lc.T_SET, 7, 3, payload)
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    d = lc.Decoder()
    frames = d.feed(wire)
    assert len(frames) == 1
    f = frames[0]
    assert (f.type, f.seq, f.ack) == (lc.T_SET, 7, 3)
    assert lc.unpack_setpoint(f.payload) == (650, 75)


def test_byte_at_a_time_and_back_to_back():
    d = lc.Decoder()
    wire = lc.encode(lc.T_HEARTBEAT, 1, 0) + lc.encode(lc.T_STOP, 2, 0)
    out = []
    for b in wire:
        out.extend(d.feed(bytes([b])))
    assert [f.type for f in out] == [lc.T_HEARTBEAT, lc.T_STOP]


def test_corruption_is_counted_and_dropped():
    d = lc.Decoder()
    wire = bytearray(lc.encode(lc.T_SET, 9, 0, lc.pack_setpoint(100, 0)))
    wire[4] ^= 0x40
    assert d.feed(bytes(wire)) == []
    assert d.crc_errors + d.framing_errors == 1
    # resync: the next good frame comes through
    assert len(d.feed(lc.encode(lc.T_STOP, 10, 0))) == 1


def test_garbage_then_frame_resyncs():
    d = lc.Decoder()
    junk = bytes([0x55, 0xAA, 0x13, 0x37] * 20)
    out = d.feed(junk + lc.encode(lc.T_ARM, 4, 0))
    assert len(out) == 1 and out[0].type == lc.T_ARM


def test_oversize_frames_are_dropped():
    d = lc.Decoder()
    assert d.feed(b"\x00" + bytes([1] * 500) + b"\x00") == []
    assert d.oversize == 1
    raises(ValueError, lc.encode, lc.T_SET, 1, 0, bytes(40))


def test_wrong_version_and_length_are_refused():
    body = bytes([2, lc.T_STOP, 1, 0, 0])
    import struct
    wire = b"\x00" + lc.cobs_encode(body + struct.pack(">H", lc.crc16(body))) + b"\x00"
    d = lc.Decoder()
    assert d.feed(wire) == [] and d.framing_errors == 1
    body = bytes([1, lc.T_STOP, 1, 0, 3])  # claims 3 payload bytes, has none
    wire = b"\x00" + lc.cobs_encode(body + struct.pack(">H", lc.crc16(body))) + b"\x00"
    assert d.feed(wire) == [] and d.framing_errors == 2


def test_status_and_result_payloads():
    p = lc.pack_status(lc.S_RUNNING, lc.F_NONE, 500, 498, 50, 49, lc.FLAG_RELAY_ON)
    assert lc.unpack_status(p) == (lc.S_RUNNING, 0, 500, 498, 50, 49, lc.FLAG_RELAY_ON)
    assert lc.unpack_result(lc.pack_result(lc.T_SET, 5, lc.R_INVALID_PARAMETER)) == \
        (lc.T_SET, 5, lc.R_INVALID_PARAMETER)
    raises(ValueError, lc.unpack_status, b"\x00")
    raises(ValueError, lc.unpack_setpoint, b"\x00")


def test_payloads_over_the_maximum_are_refused_even_when_framing_would_pass():
    d = lc.Decoder()
    for n in (32, 33, 34, 35, 36):
        body = bytes([lc.VERSION, lc.T_SET, n, 0, n]) + bytes([7] * n)
        crc = lc.crc16(body)
        wire = b"\x00" + lc.cobs_encode(body + bytes([crc >> 8, crc & 0xFF])) + b"\x00"
        out = d.feed(wire)
        assert len(out) == (1 if n <= lc.MAX_PAYLOAD else 0), n
    assert d.oversize == 4
    assert d.too_long == [(lc.T_SET, 33), (lc.T_SET, 34), (lc.T_SET, 35)]  # 36: buffer
