/* PNG row unfiltering (PNG spec section 9: None, Sub, Up, Average, Paeth), the part of PNG decoding that numpy
 * cannot vectorise (Sub, Average and Paeth run left to right along a row).
 *
 * unfilter(src, stride, bpp, rows, keep, out, prev=None)
 *   src:    filtered scanlines, each one filter-type byte then `stride` bytes (at least rows * (stride + 1))
 *   bpp:    bytes per complete pixel (1..8), the distance Sub/Average/Paeth look left
 *   keep:   how many leading bytes of each row to reconstruct (a multiple of bpp, <= stride): every filter reads
 *           only bytes to the left of and above a byte, so the columns right of a crop window can be left out
 *   out:    writable, at least rows * keep bytes; row r lands at out[r * keep]
 *   prev:   the reconstructed row above the first one (its first `keep` bytes), or None for a row of zeros
 *           (the top of the image, or a restart row whose filter reads no previous row)
 * Raises ValueError on a filter type above 4 (corrupt data).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

/* The Paeth predictor without branches (the choice is data-dependent, so branches mispredict on photos):
 * a if |p-a| <= |p-b| and |p-a| <= |p-c|, else b if |p-b| <= |p-c|, else c, with p = a + b - c. */
static inline int paeth(int a, int b, int c) {
    int pa = b - c, pb = a - c;
    int pc = pa + pb;
    pa = pa < 0 ? -pa : pa;
    pb = pb < 0 ? -pb : pb;
    pc = pc < 0 ? -pc : pc;
    int near = pb <= pc ? b : c;
    int dist = pb <= pc ? pb : pc;
    return pa <= dist ? a : near;
}

/* One row; `up` is the reconstructed row above (zeros at the top). Returns 0, or -1 on a bad filter type. */
static inline __attribute__((always_inline)) int unfilter_row(int type, const unsigned char *in,
                                                              const unsigned char *up, unsigned char *cur,
                                                              Py_ssize_t keep, int bpp) {
    Py_ssize_t i;
    switch (type) {
    case 0:
        memcpy(cur, in, keep);
        return 0;
    case 1:
        for (i = 0; i < bpp && i < keep; i++) cur[i] = in[i];
        for (; i < keep; i++) cur[i] = (unsigned char)(in[i] + cur[i - bpp]);
        return 0;
    case 2:
        for (i = 0; i < keep; i++) cur[i] = (unsigned char)(in[i] + up[i]);
        return 0;
    case 3:
        for (i = 0; i < bpp && i < keep; i++) cur[i] = (unsigned char)(in[i] + (up[i] >> 1));
        for (; i < keep; i++) cur[i] = (unsigned char)(in[i] + ((cur[i - bpp] + up[i]) >> 1));
        return 0;
    case 4:
        for (i = 0; i < bpp && i < keep; i++) cur[i] = (unsigned char)(in[i] + up[i]);
        for (; i < keep; i++) cur[i] = (unsigned char)(in[i] + paeth(cur[i - bpp], up[i], up[i - bpp]));
        return 0;
    default:
        return -1;
    }
}

static PyObject *unfilter(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"src", "stride", "bpp", "rows", "keep", "out", "prev", NULL};
    Py_buffer src = {0}, out = {0}, prev = {0};
    PyObject *prev_obj = Py_None;
    Py_ssize_t stride, rows, keep;
    int bpp;
    unsigned char *zeros = NULL;
    PyObject *result = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*ninnw*|O", names, &src, &stride, &bpp, &rows, &keep, &out,
                                     &prev_obj))
        return NULL;
    if (bpp < 1 || bpp > 8 || stride < 1 || rows < 0 || keep < 0 || keep > stride || keep % bpp != 0) {
        PyErr_SetString(PyExc_ValueError, "unfilter: bad geometry (need 1 <= bpp <= 8, keep <= stride, keep % bpp == 0)");
        goto done;
    }
    if (src.len < rows * (stride + 1) || out.len < rows * keep) {
        PyErr_SetString(PyExc_ValueError, "unfilter: src or out is shorter than the rows asked for");
        goto done;
    }
    const unsigned char *up;
    if (prev_obj != Py_None) {
        if (PyObject_GetBuffer(prev_obj, &prev, PyBUF_SIMPLE) < 0) goto done;
        if (prev.len < keep) {
            PyErr_SetString(PyExc_ValueError, "unfilter: prev is shorter than keep");
            goto done;
        }
        up = (const unsigned char *)prev.buf;
    } else {
        zeros = (unsigned char *)calloc((size_t)keep + 1, 1);
        if (zeros == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        up = zeros;
    }
    {
        const unsigned char *in = (const unsigned char *)src.buf;
        unsigned char *dst = (unsigned char *)out.buf;
        Py_ssize_t r;
        int bad = -1;
        Py_BEGIN_ALLOW_THREADS
        for (r = 0; r < rows; r++) {
            const unsigned char *line = in + r * (stride + 1);
            unsigned char *cur = dst + r * keep;
            int rc;
            switch (bpp) { /* constant bpp: the compiler specialises each loop */
            case 1: rc = unfilter_row(line[0], line + 1, up, cur, keep, 1); break;
            case 2: rc = unfilter_row(line[0], line + 1, up, cur, keep, 2); break;
            case 3: rc = unfilter_row(line[0], line + 1, up, cur, keep, 3); break;
            case 4: rc = unfilter_row(line[0], line + 1, up, cur, keep, 4); break;
            default: rc = unfilter_row(line[0], line + 1, up, cur, keep, bpp); break;
            }
            if (rc < 0) {
                bad = (int)r;
                break;
            }
            up = cur;
        }
        Py_END_ALLOW_THREADS
        if (bad >= 0) {
            PyErr_Format(PyExc_ValueError, "unfilter: row %d has filter type %d (PNG knows 0..4)", bad,
                         (int)in[(Py_ssize_t)bad * (stride + 1)]);
            goto done;
        }
    }
    result = Py_None;
    Py_INCREF(result);
done:
    free(zeros);
    if (prev.obj) PyBuffer_Release(&prev);
    if (src.obj) PyBuffer_Release(&src);
    if (out.obj) PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"unfilter", (PyCFunction)(void (*)(void))unfilter, METH_VARARGS | METH_KEYWORDS,
     "unfilter(src, stride, bpp, rows, keep, out, prev=None): reconstruct PNG scanlines into out"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pngrows", "PNG scanline unfiltering for dalisr", -1,
                                    methods};

PyMODINIT_FUNC PyInit_pngrows(void) { return PyModule_Create(&module); }
