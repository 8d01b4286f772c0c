"""What a model file may contain: one schema per step kind, checked before anything is built.

:mod:`mnist_logreg.persistence` reads the bytes; this module decides whether the decoded metadata
and arrays describe a model that can predict. Every check raises
:class:`~mnist_logreg.errors.DataFormatError` with one line naming the field, e.g.
``steps[0] (scale, PixelScaler): params.pixel_max must be a finite number > 0, got -1.0``
(the caller prefixes the file name).

Checks, in order:

1. :func:`check_metadata` -- the JSON alone: known top-level keys, every string printable (no
   control characters or terminal escape sequences: names are printed by ``predict``), the
   pipeline shape (transforms, then one classifier last), each step's kind, its parameters
   (known names, types and ranges) and its scalar fitted attributes, the classes (at least 2,
   unique, one JSON type), ``n_features_in`` and the known ``extra`` keys (image shape, pixel
   scale, class names). It returns the :class:`ArraySpec` of every array the file must hold,
   with the exact shape and the allowed dtypes derived from ``n_features_in`` and the classes,
   so the reader knows every entry's largest honest size before decompressing anything.
2. :func:`check_array` -- each decoded array against its spec: dtype, shape, finite values and
   the step's value rule (positive scales, non-negative variances and iteration counts, classes
   equal to the metadata's).
3. :func:`build_model` -- the estimators, rebuilt from checked values only.

Extending: a new step kind (or a new fitted attribute of one) is one entry of ``STEP_SCHEMAS``;
a format version that changes what a step stores gets its own table in ``SCHEMAS_BY_VERSION``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mnist_logreg._json_fields import boolean, choice, fail, integer, number, text
from mnist_logreg.errors import DataFormatError
from mnist_logreg.linear_model import LogisticRegression, OneVsRestLogisticRegression
from mnist_logreg.linear_model._solvers import SOLVERS
from mnist_logreg.preprocessing import PixelScaler

__all__ = [
    "STEP_SCHEMAS",
    "ArraySpec",
    "Dims",
    "build_model",
    "check_array",
    "check_metadata",
    "check_prediction_range",
    "model_steps",
]

#: Most steps a pipeline may have, and most classes a model may have.
MAX_STEPS = 8
MAX_CLASSES = 100_000

Check = Callable[[Any, str], Any]


# ---------------------------------------------------------------------------------------------
# Checks of single JSON values: (value, field) -> decoded value, or DataFormatError naming field
# ---------------------------------------------------------------------------------------------


def _false(value: Any, field_name: str) -> bool:
    # a classifier fitted with standardize=True is stored unfolded (persistence._steps_of)
    if value is not False:
        raise fail(field_name, "false (folded classifiers are stored unfolded)", value)
    return value


def _integer(low: int) -> Check:
    return lambda value, field_name: integer(value, field_name, low)


def _real(low: float, *, strict: bool) -> Check:
    return lambda value, field_name: number(value, field_name, low, strict=strict)


def _choice(options: frozenset[str]) -> Check:
    return lambda value, field_name: choice(value, field_name, options)


def _float_dtype(value: Any, field_name: str) -> type:
    if value == {"__dtype__": "float32"}:
        return np.float32
    if value == {"__dtype__": "float64"}:
        return np.float64
    raise fail(field_name, '{"__dtype__": "float32"} or {"__dtype__": "float64"}', value)


def _class_weight(value: Any, field_name: str) -> Any:
    """None, "balanced" or a JSON-encoded dict ``{"__dict__": [[label, weight], ...]}``."""
    if value is None or value == "balanced":
        return value
    if (
        isinstance(value, dict)
        and set(value) == {"__dict__"}
        and isinstance(value["__dict__"], list)
    ):
        weights: dict[Any, float] = {}
        for index, pair in enumerate(value["__dict__"]):
            where = f"{field_name}[{index}]"
            if not (isinstance(pair, list) and len(pair) == 2):
                raise fail(where, "a [label, weight] pair", pair)
            label, weight = pair
            if not isinstance(label, int | str) or label in weights:
                raise fail(where, "a unique integer or string label", label)
            weights[label] = _real(0.0, strict=False)(weight, f"{where} weight")
        return weights
    raise fail(field_name, 'null, "balanced" or {"__dict__": [[label, weight], ...]}', value)


def _n_samples_seen(value: Any, field_name: str) -> Any:
    return _real(0.0, strict=False)(value, field_name)


# ---------------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dims:
    """Sizes every array shape derives from (read from the metadata)."""

    n_features: int
    n_classes: int

    @property
    def n_outputs(self) -> int:
        """Rows of ``coef_``: 1 for a binary model, else one per class."""
        return 1 if self.n_classes == 2 else self.n_classes


@dataclass(frozen=True)
class ArrayRule:
    """How one array attribute of a step kind must look.

    ``shape`` maps the model's :class:`Dims` to the exact shape; ``kinds`` are the allowed dtype
    kinds (``numpy.dtype.kind``); ``value`` returns a problem with the values, or None.
    """

    kinds: str
    shape: Callable[[Dims], tuple[int, ...]]
    value: Callable[[np.ndarray], str | None]


@dataclass(frozen=True)
class ArraySpec:
    """One array the file must hold: where it goes, its exact shape and allowed dtypes."""

    step: int
    attribute: str
    entry: str
    field: str
    kinds: str
    shape: tuple[int, ...]
    max_itemsize: int
    value: Callable[[np.ndarray], str | None]

    @property
    def max_nbytes(self) -> int:
        """Largest honest size of the array's data in bytes."""
        return math.prod(self.shape) * self.max_itemsize


def _finite(array: np.ndarray) -> str | None:
    return None if np.isfinite(array).all() else "holds NaN or infinite values"


def _positive(array: np.ndarray) -> str | None:
    if not np.isfinite(array).all():
        return "holds NaN or infinite values"
    return None if (array > 0).all() else "holds values <= 0 (scales must be > 0)"


def _non_negative(array: np.ndarray) -> str | None:
    if not np.isfinite(array).all():
        return "holds NaN or infinite values"
    return None if (array >= 0).all() else "holds negative values"


def _features(dims: Dims) -> tuple[int, ...]:
    return (dims.n_features,)


_FLOAT = "f"
_INT = "iu"


# ---------------------------------------------------------------------------------------------
# Step schemas
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepSchema:
    """Everything a step of one kind may store.

    Parameters (``params``) may be missing (the constructor's default applies) but never
    unknown. Fitted attributes are scalars in the JSON (``attributes``) or arrays (``arrays``);
    ``required`` ones must be present, ``nullable`` ones may be stored as JSON ``null`` instead of
    an array. ``cross_check`` sees the decoded parameters and fitted-attribute names.
    """

    cls: type
    role: Literal["transform", "classifier"]
    params: Mapping[str, Check]
    attributes: Mapping[str, Check]
    arrays: Mapping[str, ArrayRule]
    required: frozenset[str]
    nullable: frozenset[str] = frozenset()
    cross_check: Callable[[dict[str, Any], dict[str, Any]], str | None] = field(
        default=lambda params, fitted: None
    )


def _pixel_scaler_cross_check(params: dict[str, Any], fitted: dict[str, Any]) -> str | None:
    dtype = params.get("dtype", np.float32)
    pixel_max = params.get("pixel_max", 255.0)
    with np.errstate(all="ignore"):
        in_dtype = dtype(pixel_max)
    if not (np.isfinite(in_dtype) and in_dtype > 0):
        return f"pixel_max {pixel_max!r} is not a positive finite {np.dtype(dtype).name}"
    return None


def _standard_scaler_cross_check(params: dict[str, Any], fitted: dict[str, Any]) -> str | None:
    if params.get("with_mean", True) and fitted.get("mean_") is None:
        return "with_mean is true but mean_ is missing"
    if params.get("with_std", True) and fitted.get("scale_") is None:
        return "with_std is true but scale_ is missing"
    return None


_CLASSIFIER_PARAMS: dict[str, Check] = {
    "C": _real(0.0, strict=True),
    "fit_intercept": boolean,
    "tol": _real(0.0, strict=False),
    "max_iter": _integer(0),
    "solver": _choice(frozenset({"auto", *SOLVERS})),
    "warm_start": boolean,
    "class_weight": _class_weight,
    "verbose": _integer(0),
    "standardize": _false,
}
_CLASSIFIER_ATTRIBUTES: dict[str, Check] = {
    "n_features_in_": _integer(1),
    "n_evals_": _integer(0),
    "objective_": _real(0.0, strict=False),
}
_CLASSIFIER_ARRAYS: dict[str, ArrayRule] = {
    # classes_: kinds and values are checked against the metadata's "classes" (see check_array)
    "classes_": ArrayRule("biufU", lambda d: (d.n_classes,), lambda a: None),
    "coef_": ArrayRule(_FLOAT, lambda d: (d.n_outputs, d.n_features), _finite),
    "intercept_": ArrayRule(_FLOAT, lambda d: (d.n_outputs,), _finite),
    "n_iter_": ArrayRule(_INT, lambda d: (1,), _non_negative),
}
_CLASSIFIER_REQUIRED = frozenset({"n_features_in_", "classes_", "coef_", "intercept_"})

#: Schema of every step kind a model file may hold (format versions 1 and 2).
STEP_SCHEMAS: dict[str, StepSchema] = {
    "PixelScaler": StepSchema(
        cls=PixelScaler,
        role="transform",
        params={"pixel_max": _real(0.0, strict=True), "dtype": _float_dtype},
        attributes={"n_features_in_": _integer(1)},
        arrays={},
        required=frozenset({"n_features_in_"}),
        cross_check=_pixel_scaler_cross_check,
    ),
    "StandardScaler": StepSchema(
        cls=StandardScaler,
        role="transform",
        params={"copy": boolean, "with_mean": boolean, "with_std": boolean},
        attributes={"n_features_in_": _integer(1), "n_samples_seen_": _n_samples_seen},
        arrays={
            "mean_": ArrayRule(_FLOAT, _features, _finite),
            "var_": ArrayRule(_FLOAT, _features, _non_negative),
            "scale_": ArrayRule(_FLOAT, _features, _positive),
            "n_samples_seen_": ArrayRule(_INT, _features, _non_negative),
        },
        required=frozenset({"n_features_in_", "n_samples_seen_"}),
        nullable=frozenset({"mean_", "var_", "scale_"}),
        cross_check=_standard_scaler_cross_check,
    ),
    **{  # both classifiers store the same parameters, attributes and arrays
        cls.__name__: StepSchema(cls=cls, role="classifier", params=_CLASSIFIER_PARAMS,
                                 attributes=_CLASSIFIER_ATTRIBUTES, arrays=_CLASSIFIER_ARRAYS,
                                 required=_CLASSIFIER_REQUIRED)
        for cls in (LogisticRegression, OneVsRestLogisticRegression)
    },
}

#: Step schemas of each format version (both versions store steps the same way).
SCHEMAS_BY_VERSION: dict[int, dict[str, StepSchema]] = {1: STEP_SCHEMAS, 2: STEP_SCHEMAS}

_TOP_LEVEL = {
    "format",
    "format_version",
    "package_version",
    "created_utc",
    "kind",
    "steps",
    "classes",
    "n_features_in",
    "extra",
}
#: Top-level keys of each format version (version 1 kept the array checksums in the metadata).
TOP_LEVEL_BY_VERSION: dict[int, frozenset[str]] = {
    1: frozenset(_TOP_LEVEL | {"sha256"}),
    2: frozenset(_TOP_LEVEL),
}
_STEP_KEYS = frozenset({"name", "kind", "params", "attributes", "arrays"})


# ---------------------------------------------------------------------------------------------
# The metadata
# ---------------------------------------------------------------------------------------------


def check_printable(value: Any, field_name: str = "metadata") -> None:
    """Refuse any string (key or value) holding control characters or other unprintables.

    ``str.isprintable`` is false for C0/C1 controls (hence ESC, the start of every terminal
    escape sequence), line and paragraph separators, and format characters such as bidirectional
    overrides; such text would be printed raw by ``predict`` or shown by ``serve``.
    """
    stack = [(value, field_name)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if not item.isprintable():
                raise fail(where, "printable text (no control characters)", item)
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not key.isprintable():
                    raise fail(f"{where} key", "printable text (no control characters)", key)
                stack.append((sub, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}[{i}]") for i, sub in enumerate(item))


def _check_classes(classes: Any) -> tuple[list[Any], str]:
    """The metadata's classes: 2..MAX_CLASSES unique values of one JSON type; their dtype kinds."""
    if not isinstance(classes, list) or not 2 <= len(classes) <= MAX_CLASSES:
        raise fail("classes", f"a list of 2 to {MAX_CLASSES} labels", classes)
    types = {type(c) for c in classes}
    if types == {bool}:
        kinds = "b"
    elif types == {int}:
        kinds = "iu"
    elif types <= {int, float} and all(math.isfinite(c) for c in classes):
        kinds = "f"
    elif types == {str}:
        kinds = "U"
    else:
        raise fail("classes", "integers, finite numbers or strings, all of one type", classes)
    if len(set(classes)) != len(classes):
        raise fail("classes", "unique labels", classes)
    return classes, kinds


def _check_name(name: Any, field_name: str) -> str:
    if not (isinstance(name, str) and name.isidentifier() and len(name) <= 64 and "__" not in name):
        raise fail(field_name, "an identifier of at most 64 characters without '__'", name)
    return name


def _check_step(
    index: int, step: Any, schemas: Mapping[str, StepSchema], dims: Dims, max_char: int
) -> tuple[dict[str, Any], list[ArraySpec]]:
    where = f"steps[{index}]"
    if not isinstance(step, dict) or set(step) != _STEP_KEYS:
        raise fail(where, "an object with keys " + ", ".join(sorted(_STEP_KEYS)), step)
    name = _check_name(step["name"], f"{where}.name")
    kind = step["kind"]
    if not isinstance(kind, str) or kind not in schemas:
        raise fail(f"{where}.kind", "one of " + ", ".join(sorted(schemas)), kind)
    schema = schemas[kind]
    where = f"{where} ({name}, {kind})"
    for part in ("params", "attributes", "arrays"):
        if not isinstance(step[part], dict):
            raise fail(f"{where}: {part}", "an object", step[part])
    params = {}
    for key, value in step["params"].items():
        if key not in schema.params:
            known = ", ".join(sorted(schema.params))
            raise DataFormatError(f"{where}: unknown parameter {key!r} (known: {known})")
        params[key] = schema.params[key](value, f"{where}: params.{key}")
    scalars: dict[str, Any] = {}
    for key, value in step["attributes"].items():
        if value is None and key in schema.nullable:
            scalars[key] = None
        elif key in schema.attributes:
            scalars[key] = schema.attributes[key](value, f"{where}: attributes.{key}")
        else:
            raise DataFormatError(f"{where}: unknown scalar attribute {key!r}")
    fitted = dict(scalars)
    entries: dict[str, str] = {}
    specs = []
    for key, entry in step["arrays"].items():
        if key not in schema.arrays:
            raise DataFormatError(f"{where}: unknown array attribute {key!r}")
        if key in fitted:
            raise DataFormatError(f"{where}: attribute {key!r} is stored twice")
        if entry != f"s{index}.{key}":
            raise fail(f"{where}: arrays.{key}", repr(f"s{index}.{key}"), entry)
        rule = schema.arrays[key]
        itemsize = 4 * max_char if key == "classes_" and "U" in rule.kinds else 8
        specs.append(
            ArraySpec(
                index,
                key,
                entry,
                f"{where}: {key}",
                rule.kinds,
                rule.shape(dims),
                itemsize,
                rule.value,
            )
        )
        fitted[key] = entries[key] = entry
    missing = sorted(schema.required - set(fitted))
    if missing:
        raise DataFormatError(f"{where}: missing fitted attribute(s) {', '.join(missing)}")
    if fitted["n_features_in_"] != dims.n_features:
        raise DataFormatError(
            f"{where}: n_features_in_ is {fitted['n_features_in_']} but the model's "
            f"n_features_in is {dims.n_features}"
        )
    problem = schema.cross_check(params, fitted)
    if problem:
        raise DataFormatError(f"{where}: {problem}")
    step_info = {
        "name": name,
        "kind": kind,
        "schema": schema,
        "params": params,
        "scalars": scalars,
        "arrays": entries,
    }
    return step_info, specs


def _check_extra(extra: Any, dims: Dims, pixel_max: float | None) -> None:
    """The ``extra`` keys other code reads (image shape, pixel scale, class names, strategy)."""
    if not isinstance(extra, dict):
        raise fail("extra", "an object", extra)
    if "image_shape" in extra:
        shape = extra["image_shape"]
        if (
            not isinstance(shape, list)
            or not 1 <= len(shape) <= 3
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)
            or math.prod(shape) != dims.n_features
        ):
            raise fail(
                "extra.image_shape",
                f"1 to 3 positive integers whose product is n_features_in ({dims.n_features})",
                shape,
            )
    if "pixel_max" in extra:
        value = _real(0.0, strict=True)(extra["pixel_max"], "extra.pixel_max")
        if pixel_max is not None and value != pixel_max:
            raise DataFormatError(
                f"extra.pixel_max is {value!r} but the PixelScaler step's pixel_max is "
                f"{pixel_max!r}"
            )
    if "class_names" in extra:
        names = extra["class_names"]
        if (
            not isinstance(names, list)
            or len(names) != dims.n_classes
            or not all(isinstance(n, str) and n for n in names)
            or len(set(names)) != len(names)
        ):
            raise fail("extra.class_names", f"{dims.n_classes} unique non-empty strings", names)
    if "strategy" in extra:
        _choice(frozenset({"multinomial", "ovr"}))(extra["strategy"], "extra.strategy")
    if "C" in extra:
        _real(0.0, strict=True)(extra["C"], "extra.C")
    if "dataset" in extra:
        text(extra["dataset"], "extra.dataset")


@dataclass(frozen=True)
class CheckedMetadata:
    """The metadata of a model file, checked: decoded steps and the arrays to expect."""

    kind: Literal["pipeline", "estimator"]
    steps: list[dict[str, Any]]
    dims: Dims
    classes: list[Any]
    class_kinds: str
    arrays: list[ArraySpec]
    input_max: float


def check_metadata(metadata: Any, version: int) -> CheckedMetadata:
    """Check the decoded JSON metadata of a format ``version`` file (format tag already checked).

    Returns
    -------
    checked : CheckedMetadata
        Decoded steps and the :class:`ArraySpec` of every array entry the file must hold.

    Raises
    ------
    DataFormatError
        One line naming the first field that is wrong.
    """
    if not isinstance(metadata, dict):
        raise fail("metadata", "a JSON object", metadata)
    allowed = TOP_LEVEL_BY_VERSION[version]
    unknown = sorted(set(metadata) - allowed)
    if unknown:
        raise DataFormatError(f"unknown metadata field(s) {', '.join(map(repr, unknown))}")
    missing = sorted((allowed - {"created_utc", "package_version"}) - set(metadata))
    if missing:
        raise DataFormatError(f"missing metadata field(s) {', '.join(missing)}")
    check_printable(metadata)
    for key in ("package_version", "created_utc"):
        if key in metadata:
            text(metadata[key], key)
    kind = _choice(frozenset({"pipeline", "estimator"}))(metadata["kind"], "kind")
    classes, class_kinds = _check_classes(metadata["classes"])
    n_features = _integer(1)(metadata["n_features_in"], "n_features_in")
    dims = Dims(n_features, len(classes))
    max_char = max((len(c) for c in classes if isinstance(c, str)), default=1)

    raw_steps = metadata["steps"]
    if not isinstance(raw_steps, list) or not 1 <= len(raw_steps) <= MAX_STEPS:
        raise fail("steps", f"a list of 1 to {MAX_STEPS} steps", raw_steps)
    schemas = SCHEMAS_BY_VERSION[version]
    steps, specs = [], []
    for index, raw in enumerate(raw_steps):
        step, step_specs = _check_step(index, raw, schemas, dims, max(max_char, 1))
        steps.append(step)
        specs.extend(step_specs)
    roles = [step["schema"].role for step in steps]
    if roles[-1] != "classifier" or "classifier" in roles[:-1]:
        raise DataFormatError(
            "steps: the last step, and only the last, must be a classifier; got "
            + ", ".join(step["kind"] for step in steps)
        )
    if kind == "estimator" and len(steps) != 1:
        raise DataFormatError(f"kind is 'estimator' but the file holds {len(steps)} steps")
    names = [step["name"] for step in steps]
    if len(set(names)) != len(names):
        raise fail("steps: names", "unique", names)
    scalers = [s["params"].get("pixel_max", 255.0) for s in steps if s["kind"] == "PixelScaler"]
    extra = metadata["extra"]
    _check_extra(extra, dims, float(scalers[0]) if len(scalers) == 1 else None)
    input_max = float(scalers[0] if scalers else extra.get("pixel_max", 255.0))
    return CheckedMetadata(kind, steps, dims, classes, class_kinds, specs, input_max)


def check_array(spec: ArraySpec, array: np.ndarray, checked: CheckedMetadata) -> None:
    """Check one decoded array against its spec (dtype, exact shape, values).

    Raises
    ------
    DataFormatError
        Naming the step and attribute.
    """
    kinds = checked.class_kinds if spec.attribute == "classes_" else spec.kinds
    if array.dtype.kind not in kinds or array.dtype.hasobject:
        raise DataFormatError(f"{spec.field} has dtype {array.dtype}, expected kind(s) {kinds!r}")
    if array.dtype.kind in "iuf" and array.dtype.itemsize > 8:
        raise DataFormatError(f"{spec.field} has dtype {array.dtype} (at most 64-bit allowed)")
    if array.shape != spec.shape:
        raise DataFormatError(
            f"{spec.field} has shape {array.shape}, expected {spec.shape} (from "
            f"n_features_in={checked.dims.n_features} and {checked.dims.n_classes} classes)"
        )
    if spec.attribute == "classes_":
        try:
            values = array.tolist()
        except (ValueError, UnicodeDecodeError, OverflowError) as exc:
            raise DataFormatError(f"{spec.field} cannot be decoded ({exc})") from None
        if values != checked.classes:
            raise DataFormatError(f"{spec.field} disagrees with the metadata's classes")
        return
    problem = spec.value(array)
    if problem:
        raise DataFormatError(f"{spec.field} {problem}")


def build_model(checked: CheckedMetadata, arrays: Mapping[str, np.ndarray]) -> Any:
    """Rebuild the estimator or pipeline from checked metadata and checked arrays.

    Parameters
    ----------
    checked : CheckedMetadata
    arrays : mapping of str to ndarray
        Every array of ``checked.arrays``, by entry name, each already passed :func:`check_array`.
    """
    built = []
    for step in checked.steps:
        estimator = step["schema"].cls(**step["params"])
        for attribute, value in step["scalars"].items():
            setattr(estimator, attribute, value)
        for attribute, entry in step["arrays"].items():
            setattr(estimator, attribute, arrays[entry])
        built.append((step["name"], estimator))
    if checked.kind == "estimator":
        return built[0][1]
    return Pipeline(built)


def model_steps(model: Any) -> list[tuple[str, Any]]:
    """The ``(name, step)`` pairs of a pipeline, or ``[("model", model)]`` of a bare estimator."""
    return list(model.steps) if isinstance(model, Pipeline) else [("model", model)]


def check_prediction_range(model: Any, checked: CheckedMetadata) -> None:
    """Refuse a model whose raw prediction can overflow for an image with pixels in range.

    Every transform step is affine and increasing per feature (``x / pixel_max``,
    ``(x - mean) / scale`` with positive scales), so over pixels in ``0..input_max`` each
    feature reaching the linear layer lies between its images of an all-0 and an all-input_max
    image, computed here by the steps themselves (in their own dtypes: a float64 mean_ beyond
    the float32 range overflows exactly as it would when predicting). Then
    ``|z_k| <= |b_k| + sum_j |W_kj| max(|t_j(0)|, |t_j(input_max)|)``, which must stay below
    half the largest number of the dtype ``X @ coef_.T`` is computed in (float32 when both are
    float32, whatever the intercept's dtype). So every probability
    computed from in-range pixels is finite.

    Raises
    ------
    DataFormatError
        Naming the step whose values are out of range.
    """
    steps = model_steps(model)
    X = np.zeros((2, checked.dims.n_features), dtype=np.float32)
    X[1] = checked.input_max
    with np.errstate(all="ignore"):
        for name, step in steps[:-1]:
            if isinstance(step, StandardScaler):
                # sklearn casts mean_ and scale_ to the data's dtype; a scale_ that overflows
                # to inf would silently zero its feature
                for attribute in ("mean_", "scale_"):
                    value = getattr(step, attribute, None)
                    if value is not None and not np.isfinite(value.astype(X.dtype)).all():
                        raise DataFormatError(
                            f"step {name!r}: {attribute} holds values beyond the range of "
                            f"{X.dtype}, the dtype it computes in"
                        )
            X = step.transform(X)
            if not np.isfinite(X).all():
                raise DataFormatError(
                    f"step {name!r} maps pixels in 0..{checked.input_max:g} beyond the range of "
                    f"{X.dtype} (scale_ too small or mean_ too large)"
                )
        name, classifier = steps[-1]
        coef, intercept = classifier.coef_, classifier.intercept_
        reach = np.abs(X).max(axis=0).astype(np.float64)
        bound = np.abs(coef.astype(np.float64)) @ reach + np.abs(intercept.astype(np.float64))
    dtype = np.result_type(X.dtype, coef.dtype)  # of X @ coef_.T, before intercept_ is added
    if not (np.isfinite(bound).all() and bound.max() <= np.finfo(dtype).max / 2):
        raise DataFormatError(
            f"step {name!r}: coef_ and intercept_ are so large that raw predictions overflow "
            f"{dtype} for pixels in 0..{checked.input_max:g}"
        )
