"""Butcher tableaus as data: adding a method is adding a table (stages, weights, error and dense output).

Every tableau lists all its stages in one matrix `a` (with nodes `c`): the `stages` stages of a step,
then, for methods with the first-same-as-last property, the stage at the new point, then any extra
stages needed only for dense output. Dense output is
    y(t + θh) = y + h Σ_k K_k Σ_j dense[k, j] θ^(j+1),
so one interpolation routine serves every method.

Coefficients: classical RK4 with its third-order continuous extension (Hairer, Nørsett & Wanner,
Solving ODEs I, II.6); Dormand & Prince (1980) 5(4) with Shampine's (1986) fourth-order interpolant;
Dormand & Prince's DOP853 (Hairer et al., DOP853 code) with its 3-5 error estimator and seventh-order
dense output, whose nested form was expanded into powers of θ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge-Kutta method with optional embedded error estimate and dense output.

    The stages of one step and whether the first is the same as the last are read from the table; it is
    checked where it is made (each row of `a` sums to its node, the weights to 1, the error weights to 0,
    the dense output reaches the new point at θ = 1), so a mistyped coefficient fails at import.
    """

    name: str
    order: int
    a: np.ndarray        # (S, S): all stages (step, FSAL, dense-output extras)
    b: np.ndarray        # (S,): weights of the new point (zero past the step's stages)
    c: np.ndarray        # (S,)
    dense: np.ndarray    # (S, degree): dense-output polynomial coefficients
    error: np.ndarray | None = None    # (S,): weights of the local error estimate
    error2: np.ndarray | None = None   # (S,): second estimate (DOP853's 3rd-order one), combined with `error`
    error_order: int = 0               # the order that sets the step-size exponent 1 / (error_order + 1)

    def __post_init__(self) -> None:
        n = self.a.shape[0]
        if self.a.shape != (n, n) or self.b.shape != (n,) or self.c.shape != (n,) or self.dense.shape[0] != n:
            raise ValueError(f"tableau {self.name}: a {self.a.shape}, b {self.b.shape}, c {self.c.shape} and "
                             f"dense {self.dense.shape} must all have one row per stage")
        checks = {"each row of a sums to its node c": (self.a.sum(axis=1) - self.c, self.a),
                  "the weights b sum to 1": (self.b.sum() - 1.0, self.b),
                  "the dense output at θ = 1 is the new point": (self.dense.sum(axis=1) - self.b, self.dense)}
        for label, weights in (("error", self.error), ("error2", self.error2)):
            if weights is not None:
                checks[f"the {label} weights sum to 0"] = (weights.sum(), weights)
        for what, (residual, coefficients) in checks.items():
            # Rounding of 16-digit coefficients: relative to the size of the terms summed.
            if np.any(np.abs(residual) > 1e-13 * (1.0 + np.abs(coefficients).sum(axis=-1))):
                raise ValueError(f"tableau {self.name}: not a consistent method: {what} fails")

    @property
    def stages(self) -> int:
        """The stages of one step: K_0 .. K_{stages-1} give the new point (the last with a weight)."""
        return int(np.flatnonzero(self.b).max()) + 1

    @property
    def fsal(self) -> bool:
        """Whether stage `stages` is f(t + h, y_new), reused as the next step's K_0 (first same as last)."""
        s = self.stages
        return bool(s < self.a.shape[0] and self.c[s] == 1.0 and np.array_equal(self.a[s], self.b))

    @property
    def error_stages(self) -> int:
        """The stages a step computes before its error estimate: DOPRI5's estimate also reads the FSAL stage."""
        weights = [w for w in (self.error, self.error2) if w is not None]
        return max([self.stages, *(int(np.flatnonzero(w).max()) + 1 for w in weights)])

    @property
    def adaptive(self) -> bool:
        """Whether it has an embedded error estimate, so the step size can adapt."""
        return self.error is not None


def _pad(values: list[float], size: int) -> np.ndarray:
    out = np.zeros(size)
    out[: len(values)] = values
    return out


_DOP853_A = [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.05260015195876773, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0197250569845379, 0.0591751709536137, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.02958758547680685, 0.0, 0.08876275643042054, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.2413651341592667, 0.0, -0.8845494793282861, 0.924834003261792, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.037037037037037035, 0.0, 0.0, 0.17082860872947386, 0.12546768756682242, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.037109375, 0.0, 0.0, 0.17025221101954405, 0.06021653898045596, -0.017578125, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.03709200011850479, 0.0, 0.0, 0.17038392571223998, 0.10726203044637328, -0.015319437748624402, 0.008273789163814023, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.6241109587160757, 0.0, 0.0, -3.3608926294469414, -0.868219346841726, 27.59209969944671, 20.154067550477894, -43.48988418106996, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.47766253643826434, 0.0, 0.0, -2.4881146199716677, -0.590290826836843, 21.230051448181193, 15.279233632882423, -33.28821096898486, -0.020331201708508627, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [-0.9371424300859873, 0.0, 0.0, 5.186372428844064, 1.0914373489967295, -8.149787010746927, -18.52006565999696, 22.739487099350505, 2.4936055526796523, -3.0467644718982196, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [2.273310147516538, 0.0, 0.0, -10.53449546673725, -2.0008720582248625, -17.9589318631188, 27.94888452941996, -2.8589982771350235, -8.87285693353063, 12.360567175794303, 0.6433927460157636, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.054293734116568765, 0.0, 0.0, 0.0, 0.0, 4.450312892752409, 1.8915178993145003, -5.801203960010585, 0.3111643669578199, -0.1521609496625161, 0.20136540080403034, 0.04471061572777259, 0.0, 0.0, 0.0, 0.0],
        [0.056167502283047954, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25350021021662483, -0.2462390374708025, -0.12419142326381637, 0.15329179827876568, 0.00820105229563469, 0.007567897660545699, -0.008298, 0.0, 0.0, 0.0],
        [0.03183464816350214, 0.0, 0.0, 0.0, 0.0, 0.028300909672366776, 0.053541988307438566, -0.05492374857139099, 0.0, 0.0, -0.00010834732869724932, 0.0003825710908356584, -0.00034046500868740456, 0.1413124436746325, 0.0, 0.0],
        [-0.42889630158379194, 0.0, 0.0, 0.0, 0.0, -4.697621415361164, 7.683421196062599, 4.06898981839711, 0.3567271874552811, 0.0, 0.0, 0.0, -0.0013990241651590145, 2.9475147891527724, -9.15095847217987, 0.0],
    ]
_DOP853_C = [0.0, 0.05260015195876773, 0.0789002279381516, 0.1183503419072274, 0.2816496580927726, 0.3333333333333333, 0.25, 0.3076923076923077, 0.6512820512820513, 0.6, 0.8571428571428571, 1.0, 1.0, 0.1, 0.2, 0.7777777777777778]
_DOP853_E5 = [0.01312004499419488, 0.0, 0.0, 0.0, 0.0, -1.2251564463762044, -0.4957589496572502, 1.6643771824549864, -0.35032884874997366, 0.3341791187130175, 0.08192320648511571, -0.022355307863886294, 0.0, 0.0, 0.0, 0.0]
_DOP853_E3 = [-0.18980075407240762, 0.0, 0.0, 0.0, 0.0, 4.450312892752409, 1.8915178993145003, -5.801203960010585, -0.4226823213237919, -0.1521609496625161, 0.20136540080403034, 0.02265179219836082, 0.0, 0.0, 0.0, 0.0]
_DOP853_P = [
        [1.0, -10.266057073759306, 48.161850968566455, -114.93304874997833, 147.46446875669767, -97.06685363011368, 25.69393346270375],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 13.917653631776606, -154.78787266663718, 522.921908960822, -456.2591884020879, -75.5319373213575, 154.18974869023643],
        [0.0, 2.605603751993609, -21.62282238462651, 2.5351820289667764, 292.25417465990404, -505.40999933296894, 231.5293791760455],
        [0.0, -15.018944223519686, 160.09447708973045, -474.3071826037643, 135.96036916173836, 545.1091945264187, -357.6391179106141],
        [0.0, 3.050527683318488, -38.54396729189063, 174.47140009219885, -337.05134702387716, 291.7898750908326, -93.40532418362432],
        [0.0, -1.3278744327655212, 16.661770430049543, -74.44027814126304, 140.75210016191605, -119.2562021040512, 37.45832313645163],
        [0.0, 2.8445336326728796, -36.55829548991012, 170.69007169147514, -345.9748485480495, 313.299553623578, -104.0996495089623],
        [0.0, 0.7657106259527865, -9.906995535619368, 46.80299191887439, -96.51986946699569, 88.74316650017616, -29.8402934266605],
        [0.0, -1.0889903364513334, 14.097013042320004, -66.68230591294365, 137.96299063474376, -127.82216401767992, 43.53345659001114],
        [0.0, 18.148505520854727, -127.63310949253875, 357.3419516129657, -500.7031507909224, 349.17035710882897, -96.32455395918828],
        [0.0, -9.194632392478356, 93.3567459327894, -282.6272618704363, 361.14007718803333, -201.85219053352347, 39.17726167561544],
        [0.0, -4.436036387594894, 56.68120539776666, -261.77342902691703, 520.9742236688994, -461.1727999101397, 149.72683625798564],
    ]
_RK45_A = [
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [0.2, 0.0, 0.0, 0.0, 0.0],
        [0.075, 0.225, 0.0, 0.0, 0.0],
        [0.9777777777777777, -3.7333333333333334, 3.5555555555555554, 0.0, 0.0],
        [2.9525986892242035, -11.595793324188385, 9.822892851699436, -0.2908093278463649, 0.0],
        [2.8462752525252526, -10.757575757575758, 8.906422717743473, 0.2784090909090909, -0.2735313036020583],
    ]
_RK45_B = [0.09114583333333333, 0.0, 0.44923629829290207, 0.6510416666666666, -0.322376179245283, 0.13095238095238096]
_RK45_C = [0.0, 0.2, 0.3, 0.8, 0.8888888888888888, 1.0]
_RK45_E = [-0.0012326388888888888, 0.0, 0.0042527702905061394, -0.03697916666666667, 0.05086379716981132, -0.0419047619047619, 0.025]
_RK45_P = [
        [1.0, -2.8535800653862835, 3.0717434641059005, -1.1270175653862835],
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 4.023133379230305, -6.249321565289, 2.675424484351598],
        [0.0, -3.7324019615885042, 10.068970589843675, -5.685526961588504],
        [0.0, 2.5548038301849423, -6.399112377351017, 3.5219323679207912],
        [0.0, -1.3744241142186024, 3.272657752246729, -1.7672812570757455],
        [0.0, 1.3824689317781436, -3.764937863556287, 2.382468931778144],
    ]

RK4 = Tableau(
    name="rk4",
    order=4,
    a=np.array([[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]], dtype=float),
    b=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
    c=np.array([0, 0.5, 0.5, 1.0]),
    dense=np.array([[1.0, -1.5, 2 / 3], [0.0, 1.0, -2 / 3], [0.0, 1.0, -2 / 3], [0.0, -0.5, 2 / 3]]),
)

_RK45_FULL_A = np.zeros((7, 7))
_RK45_FULL_A[:6, :5] = _RK45_A
_RK45_FULL_A[6, :6] = _RK45_B
DOPRI5 = Tableau(
    name="dopri5",
    order=5,
    a=_RK45_FULL_A,
    b=_pad(_RK45_B, 7),
    c=_pad(_RK45_C, 7) + np.eye(7)[6],
    dense=np.array(_RK45_P),
    error=np.array(_RK45_E),
    error_order=4,
)

DOP853 = Tableau(
    name="dop853",
    order=8,
    a=np.array(_DOP853_A),
    b=np.array(_DOP853_A)[12],
    c=np.array(_DOP853_C),
    dense=np.array(_DOP853_P),
    error=np.array(_DOP853_E5),
    error2=np.array(_DOP853_E3),
    error_order=7,
)

TABLEAUS: dict[str, Tableau] = {t.name: t for t in (RK4, DOPRI5, DOP853)}
