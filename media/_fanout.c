/*
 * The forward path's inner loop: one incoming RTP packet out to every subscriber
 * route that is in step (see media/fanout.py for the Python side and the rules).
 *
 * A Route is one subscriber's slot once it has started on a keyframe: where its
 * packets go (a duplicate of the ICE socket's descriptor and the remote address),
 * the libsrtp session that protects them (a handle and libsrtp's srtp_protect,
 * both taken from pylibsrtp, which owns them; the Route keeps the session object
 * alive), the header fields it rewrites (payload type, SSRC, sequence number and
 * timestamp offsets, the RFC 8285 extension block), a ring of what it sent lately
 * (for NACK), and its counters. Everything else (keyframe waits, anchoring,
 * switching sources, retransmission) stays in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CACHE_PACKETS 512
#define MAX_RTP 1500
#define SRTP_TRAILER 64
#define MAX_EXTENSIONS 64

typedef int (*protect_fn)(void *session, void *packet, int *length);

typedef struct {
    PyObject_HEAD
    int fd;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    void *session;
    protect_fn protect;
    PyObject *owner; /* keeps the SRTP session (and whatever else) alive */
    uint8_t payload_type;
    uint32_t ssrc;
    uint16_t seq_offset;
    uint32_t ts_offset;
    uint8_t extensions[MAX_EXTENSIONS];
    Py_ssize_t extensions_len;
    int32_t cache_seq[CACHE_PACKETS];
    uint32_t cache_ts[CACHE_PACKETS];
    uint8_t cache_marker[CACHE_PACKETS];
    PyObject *cache_payload[CACHE_PACKETS];
    unsigned long long packets;
    unsigned long long octets;
    unsigned long long frames;
    unsigned long long failures;
    unsigned int drop_every;
    unsigned long long drop_count;
    unsigned long long faults;
    int has_last;
    uint16_t last_seq;
    uint32_t last_ts;
    uint32_t last_source_ts;
    double last_sent_at;
} Route;

static void route_close_fd(Route *self) {
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
}

static void route_dealloc(Route *self) {
    route_close_fd(self);
    for (int i = 0; i < CACHE_PACKETS; i++) {
        Py_CLEAR(self->cache_payload[i]);
    }
    Py_CLEAR(self->owner);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *route_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    Route *self = (Route *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->fd = -1;
    }
    return (PyObject *)self;
}

static int route_init(Route *self, PyObject *args, PyObject *kwds) {
    static char *keywords[] = {"fd", "host", "port", "session", "protect", "owner",
                               "payload_type", "ssrc", "extensions", NULL};
    int fd, port, payload_type;
    const char *host;
    unsigned long long session, protect;
    unsigned long ssrc;
    PyObject *owner;
    Py_buffer extensions;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "isiKKOiky*", keywords, &fd, &host, &port,
                                     &session, &protect, &owner, &payload_type, &ssrc,
                                     &extensions)) {
        return -1;
    }
    if (extensions.len > MAX_EXTENSIONS || payload_type < 0 || payload_type > 127 ||
        port <= 0 || port > 65535 || session == 0 || protect == 0) {
        PyBuffer_Release(&extensions);
        PyErr_SetString(PyExc_ValueError, "Route: bad extensions, payload type, port or session");
        return -1;
    }
    memset(&self->addr, 0, sizeof(self->addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&self->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&self->addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        self->addr_len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        self->addr_len = sizeof(*v6);
    } else {
        PyBuffer_Release(&extensions);
        PyErr_Format(PyExc_ValueError, "Route: not an IP address: %s", host);
        return -1;
    }
    route_close_fd(self);
    /* Our own descriptor: the socket stays ours until close(), even if aioice closes
       its own, so a number the kernel hands out again is never written to. */
    self->fd = dup(fd);
    if (self->fd < 0) {
        PyBuffer_Release(&extensions);
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    self->session = (void *)(uintptr_t)session;
    self->protect = (protect_fn)(uintptr_t)protect;
    Py_INCREF(owner);
    Py_XSETREF(self->owner, owner);
    self->payload_type = (uint8_t)payload_type;
    self->ssrc = (uint32_t)ssrc;
    memcpy(self->extensions, extensions.buf, (size_t)extensions.len);
    self->extensions_len = extensions.len;
    PyBuffer_Release(&extensions);
    for (int i = 0; i < CACHE_PACKETS; i++) {
        self->cache_seq[i] = -1;
        Py_CLEAR(self->cache_payload[i]);
    }
    self->has_last = 0;
    return 0;
}

static PyObject *route_set_offsets(Route *self, PyObject *args) {
    unsigned int seq_offset;
    unsigned long ts_offset;
    if (!PyArg_ParseTuple(args, "Ik", &seq_offset, &ts_offset)) {
        return NULL;
    }
    self->seq_offset = (uint16_t)seq_offset;
    self->ts_offset = (uint32_t)ts_offset;
    Py_RETURN_NONE;
}

static PyObject *route_cached(Route *self, PyObject *arg) {
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (seq < 0 || seq > 0xFFFF) {
        Py_RETURN_NONE;
    }
    int index = (int)(seq % CACHE_PACKETS);
    if (self->cache_seq[index] != seq || self->cache_payload[index] == NULL) {
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(kiO)", (unsigned long)self->cache_ts[index],
                         (int)self->cache_marker[index], self->cache_payload[index]);
}

static PyObject *route_close(Route *self, PyObject *Py_UNUSED(ignored)) {
    route_close_fd(self);
    Py_RETURN_NONE;
}

static PyObject *route_get_last(Route *self, void *closure) {
    if (!self->has_last) {
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(ikkd)", (int)self->last_seq, (unsigned long)self->last_ts,
                         (unsigned long)self->last_source_ts, self->last_sent_at);
}

static PyObject *route_get_closed(Route *self, void *closure) {
    return PyBool_FromLong(self->fd < 0);
}

static PyMemberDef route_members[] = {
    {"packets", T_ULONGLONG, offsetof(Route, packets), READONLY, "packets sent"},
    {"octets", T_ULONGLONG, offsetof(Route, octets), READONLY, "payload octets sent"},
    {"frames", T_ULONGLONG, offsetof(Route, frames), READONLY, "frames completed"},
    {"failures", T_ULONGLONG, offsetof(Route, failures), READONLY,
     "packets not sent (too large, SRTP refused, socket refused)"},
    {"drop_every", T_UINT, offsetof(Route, drop_every), 0,
     "fault injection for tests: lose every n-th packet after caching it (0: never)"},
    {"faults", T_ULONGLONG, offsetof(Route, faults), READONLY,
     "packets lost on purpose (drop_every)"},
    {NULL},
};

static PyGetSetDef route_getset[] = {
    {"last", (getter)route_get_last, NULL,
     "(sequence number, timestamp, source timestamp, monotonic time) of the newest packet "
     "sent, or None",
     NULL},
    {"closed", (getter)route_get_closed, NULL, "whether close() was called", NULL},
    {NULL},
};

static PyMethodDef route_methods[] = {
    {"set_offsets", (PyCFunction)route_set_offsets, METH_VARARGS,
     "set_offsets(seq_offset, ts_offset): map the source's numbering onto ours"},
    {"cached", (PyCFunction)route_cached, METH_O,
     "cached(seq) -> (timestamp, marker, payload) of a packet sent lately, or None"},
    {"close", (PyCFunction)route_close, METH_NOARGS, "send nothing more (idempotent)"},
    {NULL},
};

static PyTypeObject RouteType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "media._fanout.Route",
    .tp_basicsize = sizeof(Route),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One subscriber route of the forward path.",
    .tp_new = route_new,
    .tp_init = (initproc)route_init,
    .tp_dealloc = (destructor)route_dealloc,
    .tp_members = route_members,
    .tp_getset = route_getset,
    .tp_methods = route_methods,
};

static int seq_newer(uint16_t a, uint16_t b) {
    return a != b && (uint16_t)(a - b) < 0x8000;
}

/* forward(routes, payload, seq, ts, marker, frames, now) -> packets sent */
static PyObject *fanout_forward(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7 || !PyList_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "forward(routes: list, payload: bytes, seq, ts, marker, frames, now)");
        return NULL;
    }
    PyObject *routes = args[0];
    PyObject *payload = args[1];
    long seq = PyLong_AsLong(args[2]);
    unsigned long ts = PyLong_AsUnsignedLong(args[3]);
    long marker = PyLong_AsLong(args[4]);
    long frames = PyLong_AsLong(args[5]);
    double now = PyFloat_AsDouble(args[6]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    const uint8_t *data = (const uint8_t *)PyBytes_AS_STRING(payload);
    Py_ssize_t size = PyBytes_GET_SIZE(payload);
    uint8_t packet[MAX_RTP + SRTP_TRAILER];
    Py_ssize_t routes_len = PyList_GET_SIZE(routes);
    long sent = 0;
    for (Py_ssize_t r = 0; r < routes_len; r++) {
        PyObject *item = PyList_GET_ITEM(routes, r);
        if (Py_TYPE(item) != &RouteType) {
            PyErr_SetString(PyExc_TypeError, "forward: routes must hold Route objects");
            return NULL;
        }
        Route *route = (Route *)item;
        if (route->fd < 0) {
            continue;
        }
        uint16_t out_seq = (uint16_t)((unsigned long)seq + route->seq_offset);
        uint32_t out_ts = (uint32_t)(ts + route->ts_offset);
        int index = out_seq % CACHE_PACKETS;
        if (route->cache_seq[index] == out_seq) {
            /* A duplicate (or a retransmission asked of the publisher that the
               original beat): the subscriber has it, and SRTP would refuse it. */
            continue;
        }
        Py_ssize_t header = 12 + route->extensions_len;
        Py_ssize_t length = header + size;
        route->cache_seq[index] = out_seq;
        route->cache_ts[index] = out_ts;
        route->cache_marker[index] = (uint8_t)(marker != 0);
        Py_INCREF(payload);
        Py_XSETREF(route->cache_payload[index], payload);
        if (length > MAX_RTP) {
            route->failures++;
            continue;
        }
        packet[0] = route->extensions_len ? 0x90 : 0x80;
        packet[1] = (uint8_t)((marker ? 0x80 : 0) | route->payload_type);
        packet[2] = (uint8_t)(out_seq >> 8);
        packet[3] = (uint8_t)out_seq;
        packet[4] = (uint8_t)(out_ts >> 24);
        packet[5] = (uint8_t)(out_ts >> 16);
        packet[6] = (uint8_t)(out_ts >> 8);
        packet[7] = (uint8_t)out_ts;
        packet[8] = (uint8_t)(route->ssrc >> 24);
        packet[9] = (uint8_t)(route->ssrc >> 16);
        packet[10] = (uint8_t)(route->ssrc >> 8);
        packet[11] = (uint8_t)route->ssrc;
        memcpy(packet + 12, route->extensions, (size_t)route->extensions_len);
        memcpy(packet + header, data, (size_t)size);
        int protected_length = (int)length;
        if (route->protect(route->session, packet, &protected_length) != 0) {
            route->failures++;
            continue;
        }
        if (route->drop_every && ++route->drop_count % route->drop_every == 0) {
            /* Fault injection (tests): lost on the way, as far as anyone can tell. */
            route->faults++;
        } else if (sendto(route->fd, packet, (size_t)protected_length, MSG_DONTWAIT,
                          (struct sockaddr *)&route->addr, route->addr_len) < 0) {
            route->failures++;
            continue;
        }
        sent++;
        route->packets++;
        route->octets += (unsigned long long)size;
        route->frames += (unsigned long long)frames;
        if (!route->has_last || seq_newer(out_seq, route->last_seq)) {
            route->has_last = 1;
            route->last_seq = out_seq;
            route->last_ts = out_ts;
            route->last_source_ts = (uint32_t)ts;
            route->last_sent_at = now;
        }
    }
    return PyLong_FromLong(sent);
}

static PyMethodDef fanout_methods[] = {
    {"forward", (PyCFunction)(void (*)(void))fanout_forward, METH_FASTCALL,
     "forward(routes, payload, seq, ts, marker, frames, now) -> packets sent: one source "
     "packet, rewritten, protected and sent on each open route"},
    {NULL},
};

static struct PyModuleDef fanout_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "media._fanout",
    .m_doc = "The forward path's inner loop (see media/fanout.py).",
    .m_size = -1,
    .m_methods = fanout_methods,
};

PyMODINIT_FUNC PyInit__fanout(void) {
    if (PyType_Ready(&RouteType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&fanout_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&RouteType);
    if (PyModule_AddObject(module, "Route", (PyObject *)&RouteType) < 0) {
        Py_DECREF(&RouteType);
        Py_DECREF(module);
        return NULL;
    }
    PyModule_AddIntConstant(module, "CACHE_PACKETS", CACHE_PACKETS);
    PyModule_AddIntConstant(module, "MAX_RTP", MAX_RTP);
    return module;
}
