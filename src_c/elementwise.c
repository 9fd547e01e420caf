/* ufunc inner loops of relu, relu_backward, leaky_relu, leaky_relu_backward. */
#include "rk_dtypes.h"
#include "rk_formulas.h"

#define RK_TEMPLATE "elementwise.tmpl.h"
#include "rk_foreach_float.h"
#undef RK_TEMPLATE
