"""Helpers that generated right-hand sides and the kernels call; jitted, so they also work from Python."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .modules import RHS_TYPE


@numba.njit(cache=True)
def sign(x: float) -> float:
    """-1, 0 or 1 like numpy.sign."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0 * x  # keeps NaN a NaN


@numba.njit(cache=True)
def heaviside(x: float) -> float:
    """1 for x > 0, 0 for x < 0, 0.5 at 0."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return 0.0
    return 0.5 + 0.0 * x


# IEEE division and floor: mod(x, 0) is nan and floor(inf) is inf, as in numpy, where numba's default error
# model raises ZeroDivisionError and math.floor converts to an integer (undefined for inf and nan).
@numba.njit(cache=True, error_model="numpy")
def mod(a: float, b: float) -> float:
    """a modulo b with the sign of b, like numpy.mod."""
    return a - np.floor(a / b) * b


@numba.njit(cache=True)
def floor(x: float) -> float:
    """The largest integer not above x, as a float (inf and nan stay as they are)."""
    return np.floor(x)


@intrinsic
def address(typingctx, array, offset):
    """A pointer to element `offset` (in the flattened order) of a contiguous float64 array.

    The kernels hand right-hand sides raw pointers: an array argument costs a struct of seven fields and
    reference counting per call, which for a small system is most of the step.
    """
    if not (isinstance(array, types.Array) and array.dtype == types.float64 and array.layout == "C"):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.gep(data, [args[1]])

    return types.CPointer(types.float64)(array, offset), codegen


@intrinsic
def shift(typingctx, pointer, offset):
    """The float64 pointer `offset` elements past `pointer`."""
    if not (isinstance(pointer, types.CPointer) and pointer.dtype == types.float64):
        return None

    def codegen(context, builder, signature, args):
        return builder.gep(args[0], [args[1]])

    return types.CPointer(types.float64)(pointer, offset), codegen


@intrinsic
def call_rhs_at(typingctx, where, x, t, p, out):
    """Call the right-hand side `rhs_ptr(x, t, p, out)` whose C address is `where` (a float64 holding an integer).

    A generated system built from compiled ones (a skew product) calls them through their addresses, read from
    its parameter array at run time, so that one function compiled once serves every such system.
    """
    pointer = types.CPointer(types.float64)
    if not (where == types.float64 and x == pointer and t == types.float64 and p == pointer and out == pointer):
        return None

    def codegen(context, builder, signature, args):
        doubles = ir.PointerType(ir.DoubleType())
        function = ir.FunctionType(ir.VoidType(), [doubles, ir.DoubleType(), doubles, doubles])
        target = builder.inttoptr(builder.fptoui(args[0], ir.IntType(64)), function.as_pointer())
        builder.call(target, args[1:])
        return context.get_dummy_value()

    return types.void(where, x, t, p, out), codegen


def rhs_address(dispatcher: Any) -> float:
    """The C address of a compiled `rhs_ptr`, as the float64 `call_rhs_at` takes (exact: addresses are < 2**53)."""
    result = dispatcher.get_compile_result(RHS_TYPE.signature)
    return float(result.library.get_pointer_to_function(result.fndesc.llvm_cfunc_wrapper_name))
