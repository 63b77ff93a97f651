"""Frame codec of the Pi ↔ motor-board link. ONE file for both ends: it runs unchanged on
MicroPython (the RP2040 firmware) and on CPython (the host client, the emulator, the tests).

Wire format (firmware/PROTOCOL.md has the full specification):

    0x00 | COBS( header | payload | crc16 ) | 0x00

    header  = version u8, type u8, seq u8, ack u8, len u8   (len = payload length)
    crc16   = CRC-16/CCITT-FALSE over header+payload, big-endian
              (poly 0x1021, init 0xFFFF, no reflection, no xor-out; crc("123456789") = 0x29B1)

Set-points are absolute and in FTMS units: speed uint16 in 0.01 km/h, incline sint16 in
0.1 %. ``Decoder.feed(bytes) -> list[Frame]`` never raises on bad input: corrupted,
truncated or oversized frames are counted and dropped, and resynchronisation happens at the
next 0x00. A frame that is intact (CRC good) but whose payload exceeds ``MAX_PAYLOAD`` is
dropped too; its type and seq are kept in ``Decoder.too_long`` so the receiver can answer it
with a clear "invalid parameter" rather than silence. Only the standard library subset
both interpreters share is used (struct, no dataclasses, no typing imports).
"""

import struct

VERSION = 1
HEADER_LEN = 5
MAX_PAYLOAD = 32
MAX_ENCODED = 2 + HEADER_LEN + MAX_PAYLOAD + 2 + 2  # COBS overhead is 1 byte per 254

# Host → device
T_HEARTBEAT = 0x01
T_ARM = 0x02
T_START = 0x03
T_SET = 0x04
T_STOP = 0x05
T_DISARM = 0x06
T_HELLO_REQUEST = 0x07
# Device → host
T_RESULT = 0x81
T_STATUS = 0x82
T_HELLO = 0x83

COMMAND_PAYLOAD_LEN = {T_HEARTBEAT: 0, T_ARM: 0, T_START: 4, T_SET: 4, T_STOP: 0,
                       T_DISARM: 0}

# Result codes (as the FTMS control point's)
R_SUCCESS = 0x01
R_NOT_SUPPORTED = 0x02
R_INVALID_PARAMETER = 0x03
R_FAILED = 0x04
R_NOT_PERMITTED = 0x05

# Device states
S_FAULT = 0
S_IDLE = 1
S_ARMED = 2
S_RUNNING = 3
S_STOPPING = 4
STATE_NAMES = ("fault", "idle", "armed", "running", "stopping")

# Fault codes (latched until a local reset)
F_NONE = 0
F_BOOT = 1
F_WATCHDOG = 2
F_HOST_SILENT = 3
F_ESTOP = 4
F_KEY = 5
F_OVERSPEED = 6
F_NO_TACH = 7
F_INCLINE = 8
FAULT_NAMES = ("none", "boot", "watchdog_reset", "host_silent", "estop", "key_pulled",
               "overspeed", "no_tach", "incline")

# Status flag bits
FLAG_KEY_PRESENT = 0x01
FLAG_ESTOP_HEALTHY = 0x02
FLAG_RELAY_ON = 0x04
FLAG_INCLINE_HOMED = 0x08
FLAG_RESET_NEEDED = 0x10

STATUS_FMT = ">BBHHhhB"  # state, fault, speed_cmd, speed_meas, incline_cmd, incline_meas, flags
SETPOINT_FMT = ">Hh"
RESULT_FMT = ">BBB"  # acked type, acked seq, result code
HELLO_FMT = ">BBB"  # firmware major, minor, fault at boot


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


def cobs_encode(data):
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out.extend(block)
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out.extend(block)
                block = bytearray()
    out.append(len(block) + 1)
    out.extend(block)
    return bytes(out)


def cobs_decode(data):
    """Inverse of cobs_encode; raises ValueError on a malformed block."""
    if 0 in data:
        raise ValueError("zero byte inside a COBS frame")
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        end = i + code
        if end > n:
            raise ValueError("COBS block runs past the frame")
        out.extend(data[i + 1:end])
        i = end
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)


class Frame:
    """One decoded frame; ``payload`` is bytes."""

    __slots__ = ("ack", "payload", "seq", "type")

    def __init__(self, ftype, seq, ack, payload=b""):
        self.type = ftype
        self.seq = seq
        self.ack = ack
        self.payload = payload

    def __eq__(self, other):
        return (isinstance(other, Frame) and self.type == other.type and self.seq == other.seq
                and self.ack == other.ack and self.payload == other.payload)

    def __repr__(self):
        return "Frame(type=0x%02x, seq=%d, ack=%d, payload=%r)" % (
            self.type, self.seq, self.ack, self.payload)


def encode(ftype, seq, ack, payload=b""):
    """Bytes for one frame, with the 0x00 delimiters before and after."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload too long")
    body = bytes([VERSION, ftype & 0xFF, seq & 0xFF, ack & 0xFF, len(payload)]) + payload
    body += struct.pack(">H", crc16(body))
    return b"\x00" + cobs_encode(body) + b"\x00"


def encode_frame(frame):
    return encode(frame.type, frame.seq, frame.ack, frame.payload)


class Decoder:
    """Bytes in, frames out. Keeps counters of what it dropped and why."""

    def __init__(self):
        self._buf = bytearray()
        self._overflow = False
        self.frames = 0
        self.crc_errors = 0
        self.framing_errors = 0
        self.oversize = 0
        self.too_long = []  # (type, seq) of intact frames refused for a payload > MAX_PAYLOAD

    def feed(self, data):
        frames = []
        for b in data:
            if b != 0:
                if len(self._buf) >= MAX_ENCODED:
                    self._overflow = True
                else:
                    self._buf.append(b)
                continue
            if self._overflow:
                self.oversize += 1
            elif self._buf:
                f = self._parse(bytes(self._buf))
                if f is not None:
                    frames.append(f)
            self._buf = bytearray()
            self._overflow = False
        return frames

    def _parse(self, raw):
        try:
            body = cobs_decode(raw)
        except ValueError:
            self.framing_errors += 1
            return None
        if len(body) < HEADER_LEN + 2:
            self.framing_errors += 1
            return None
        if crc16(body[:-2]) != struct.unpack(">H", body[-2:])[0]:
            self.crc_errors += 1
            return None
        version, ftype, seq, ack, n = body[0], body[1], body[2], body[3], body[4]
        if version != VERSION or n != len(body) - HEADER_LEN - 2:
            self.framing_errors += 1
            return None
        if n > MAX_PAYLOAD:  # COBS and the buffer would let up to 35 bytes through
            self.oversize += 1
            if len(self.too_long) < 8:
                self.too_long.append((ftype, seq))
            return None
        self.frames += 1
        return Frame(ftype, seq, ack, bytes(body[HEADER_LEN:HEADER_LEN + n]))


def pack_setpoint(speed_centi_kmh, incline_deci_pct):
    return struct.pack(SETPOINT_FMT, speed_centi_kmh, incline_deci_pct)


def unpack_setpoint(payload):
    """(speed in 0.01 km/h, incline in 0.1 %); raises ValueError on a wrong length."""
    if len(payload) != 4:
        raise ValueError("set-point payload must be 4 bytes")
    return struct.unpack(SETPOINT_FMT, payload)


def pack_status(state, fault, speed_cmd, speed_meas, incline_cmd, incline_meas, flags):
    return struct.pack(STATUS_FMT, state, fault, speed_cmd, speed_meas, incline_cmd,
                       incline_meas, flags)


def unpack_status(payload):
    if len(payload) != struct.calcsize(STATUS_FMT):
        raise ValueError("status payload has the wrong length")
    return struct.unpack(STATUS_FMT, payload)


def pack_result(acked_type, acked_seq, code):
    return struct.pack(RESULT_FMT, acked_type, acked_seq, code)


def unpack_result(payload):
    if len(payload) != 3:
        raise ValueError("result payload must be 3 bytes")
    return struct.unpack(RESULT_FMT, payload)
