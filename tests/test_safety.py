from controller.core.safety import HrGate


def feed(gate, values, t0=0.0, dt=1.0):
    return [gate.update(t0 + i * dt, v) for i, v in enumerate(values)]


def test_gate_rejects_doubled_halved_and_spikes():
    g = HrGate()
    feed(g, [150, 151, 150, 152, 151])
    assert g.update(5, 301).reason == "out_of_range"
    assert g.update(6, 75).reason == "halved"
    assert g.update(7, 75).reason == "halved"
    assert g.update(8, 195).reason == "jump"
    assert g.update(9, 151).hr_bpm == 151


def test_gate_doubles_below_230_are_caught_too():
    g = HrGate()
    feed(g, [80, 81, 80, 79])
    r = g.update(4, 160)
    assert r.hr_bpm is None and r.reason == "doubled"


def test_a_persistent_new_level_is_believed_after_a_while():
    g = HrGate()
    feed(g, [120] * 5)
    out = feed(g, [170] * 12, t0=5)
    assert all(r.hr_bpm is None for r in out[:8])
    assert out[8].hr_bpm == 170 and out[-1].hr_bpm == 170


def test_halved_levels_need_longer_before_they_are_believed():
    g = HrGate()
    feed(g, [160] * 5)
    out = feed(g, [80] * 25, t0=5)
    assert all(r.hr_bpm is None for r in out[:20])
    assert out[20].hr_bpm == 80


def test_after_a_dropout_a_real_change_is_accepted_at_once():
    g = HrGate()
    feed(g, [120] * 5)
    assert g.update(30.0, 150).hr_bpm == 150  # 25 s gap: 30 bpm is plausible


def test_gradual_changes_pass():
    g = HrGate()
    out = feed(g, [100 + 2 * i for i in range(40)])
    assert all(r.hr_bpm is not None for r in out)


def test_no_reading_and_nan():
    g = HrGate()
    assert g.update(0, None).reason == "no_reading"
    assert g.update(1, float("nan")).reason == "out_of_range"
