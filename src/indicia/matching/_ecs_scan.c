/*
 * Columns of ECS JSON lines, read straight into Arrow buffers.
 *
 * A Scanner knows the field spellings the batch engine reads (indicia.matching.batch_schema:
 * one tuple of keys per spelling, from the top of the document, and a role). scan(data) reads
 * whole lines of JSON and returns, per spelling, the Arrow buffers of its column: validity
 * bitmap, int32 offsets and UTF-8 data for strings (and a list column for arrays of strings),
 * or validity and int32 values for ports.
 *
 * The scanner is a fast path, not a second reader with its own rules. It takes only lines it
 * can read exactly as the msgspec path reads them: one object per line of strict RFC 8259 JSON,
 * valid UTF-8, a value of the type its spelling expects. On anything else in a block (a
 * malformed line, a number where a string belongs, a repeated key, a \u escape it cannot pair,
 * nesting deeper than MAX_DEPTH) it returns None and the caller reads that block with msgspec,
 * which decides, reports bad lines and coerces odd values. So a block this scanner reads gives
 * the same columns the msgspec path gives, and a block it refuses costs only the time spent.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_NODE = -1, ROLE_VALUE = 0, ROLE_PORT = 1, ROLE_TIME = 2, ROLE_ABSENT = 3 };
enum { SCAN_OK = 0, SCAN_REFUSE = 1, SCAN_NOMEM = 2 };

#define MAX_DEPTH 64
#define HASH_SLOTS 1024

typedef unsigned char uchar;

typedef struct {
    uchar *data;
    size_t len;
    size_t cap;
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra) {
        cap *= 2;
    }
    uchar *grown = realloc(b->data, cap);
    if (grown == NULL) {
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

static int buf_put(Buf *b, const void *bytes, size_t n) {
    if (n == 0) {
        return 0; /* and no memcpy from or to a null pointer */
    }
    if (buf_reserve(b, n) < 0) {
        return -1;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    return 0;
}

static int buf_put_i32(Buf *b, int32_t value) { return buf_put(b, &value, sizeof value); }

static void buf_free(Buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* One key of the spelling tree: a parent object (ROLE_NODE) or a leaf that is a column. */
typedef struct {
    int parent;
    int role;
    int column;
    PyObject *key; /* bytes, owned */
} Node;

/* The strings of one column, or its ports; and the arrays-of-strings part of a value column. */
typedef struct {
    int role;
    int present;       /* a non-null scalar value was stored */
    Py_ssize_t filled; /* rows written */
    Buf valid, offsets, data;
    int list_present;
    Py_ssize_t list_filled;
    int32_t children;
    Buf list_valid, list_offsets, child_offsets, child_data;
} Column;

typedef struct {
    PyObject_HEAD
    Node *nodes;
    int node_count;
    int column_count;
    int slots[HASH_SLOTS]; /* node index + 1, 0 for empty; keyed by (parent, key) */
} Scanner;

typedef struct {
    Scanner *scanner;
    Column *columns;
    Py_ssize_t rows;      /* rows of the block: lines, the last one with or without "\n" */
    size_t bitmap_bytes;  /* size of every validity bitmap */
    int64_t *seen;        /* per node: the line mark of its last appearance */
    int64_t mark;
} Scan;

/* Cheap on purpose: the parent, the length and three bytes tell the known keys apart well
   enough, and a probe compares the whole key. */
static uint32_t key_hash(int parent, const uchar *key, size_t n) {
    uint32_t h = (uint32_t)(parent + 1) * 0x9e3779b1u ^ (uint32_t)n * 0x85ebca6bu;
    if (n > 0) {
        h ^= (uint32_t)key[0] * 0xc2b2ae35u ^ (uint32_t)key[n - 1] * 0x27d4eb2fu ^
             (uint32_t)key[n / 2] * 0x165667b1u;
    }
    return h ^ (h >> 15);
}

static int find_child(Scanner *s, int parent, const uchar *key, size_t n) {
    uint32_t slot = key_hash(parent, key, n) & (HASH_SLOTS - 1);
    for (;;) {
        int entry = s->slots[slot];
        if (entry == 0) {
            return -1;
        }
        Node *node = &s->nodes[entry - 1];
        if (node->parent == parent && (size_t)PyBytes_GET_SIZE(node->key) == n &&
            memcmp(PyBytes_AS_STRING(node->key), key, n) == 0) {
            return entry - 1;
        }
        slot = (slot + 1) & (HASH_SLOTS - 1);
    }
}

/* ---- JSON pieces; each returns SCAN_OK, SCAN_REFUSE or SCAN_NOMEM and advances *pp ---- */

static inline const uchar *skip_ws(const uchar *p, const uchar *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) {
        p++;
    }
    return p;
}

static int hex4(const uchar *p, const uchar *end, uint32_t *out) {
    if (end - p < 4) {
        return -1;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uchar c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (uint32_t)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static int put_utf8(Buf *out, uint32_t cp) {
    uchar bytes[4];
    size_t n;
    if (cp < 0x80) {
        bytes[0] = (uchar)cp;
        n = 1;
    } else if (cp < 0x800) {
        bytes[0] = (uchar)(0xC0 | (cp >> 6));
        bytes[1] = (uchar)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        bytes[0] = (uchar)(0xE0 | (cp >> 12));
        bytes[1] = (uchar)(0x80 | ((cp >> 6) & 0x3F));
        bytes[2] = (uchar)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        bytes[0] = (uchar)(0xF0 | (cp >> 18));
        bytes[1] = (uchar)(0x80 | ((cp >> 12) & 0x3F));
        bytes[2] = (uchar)(0x80 | ((cp >> 6) & 0x3F));
        bytes[3] = (uchar)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_put(out, bytes, n);
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629 4), or 0. */
static size_t utf8_length(const uchar *p, const uchar *end) {
    uchar c = p[0];
    size_t n;
    uchar low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) {
            low = 0xA0;
        } else if (c == 0xED) {
            high = 0x9F; /* no UTF-16 surrogates */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) {
            low = 0x90;
        } else if (c == 0xF4) {
            high = 0x8F;
        }
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < low || p[1] > high) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF) {
            return 0;
        }
    }
    return n;
}

/* Bytes a string may hold as they are: printable ASCII but the quote and the backslash. */
static uchar PLAIN[256];

static void init_plain(void) {
    for (int c = 0x20; c < 0x80; c++) {
        PLAIN[c] = c != '"' && c != '\\';
    }
}

/*
 * A string at *pp (on its opening quote). Its decoded UTF-8 goes to out when out is set.
 * *escaped tells whether it held an escape (keys with escapes are refused by the caller).
 */
static int scan_string(const uchar **pp, const uchar *end, Buf *out, int *escaped) {
    const uchar *p = *pp + 1;
    const uchar *run = p;
    for (;;) {
        /* Eight bytes at a time while none is a quote, a backslash, a control or non-ASCII. */
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            uint64_t quote = x ^ (ones * '"'), slash = x ^ (ones * '\\');
            uint64_t special = ((quote - ones) & ~quote) | ((slash - ones) & ~slash) |
                               (x - ones * 0x20) | x;
            if (special & highs) {
                break;
            }
            p += 8;
        }
        /* Then byte by byte up to the byte that stopped the word. */
        while (p < end && PLAIN[*p]) {
            p++;
        }
        if (p >= end) {
            return SCAN_REFUSE;
        }
        uchar c = *p;
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return SCAN_REFUSE;
        }
        if (c >= 0x80) {
            size_t n = utf8_length(p, end);
            if (n == 0) {
                return SCAN_REFUSE;
            }
            p += n;
            continue;
        }
        /* An escape (RFC 8259 7). */
        if (escaped != NULL) {
            *escaped = 1;
        }
        if (out != NULL && buf_put(out, run, (size_t)(p - run)) < 0) {
            return SCAN_NOMEM;
        }
        if (end - p < 2) {
            return SCAN_REFUSE;
        }
        uchar e = p[1];
        uchar plain;
        switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': plain = 0; break;
        default: return SCAN_REFUSE;
        }
        if (e != 'u') {
            if (out != NULL && buf_put(out, &plain, 1) < 0) {
                return SCAN_NOMEM;
            }
            p += 2;
            run = p;
            continue;
        }
        uint32_t cp;
        if (hex4(p + 2, end, &cp) < 0) {
            return SCAN_REFUSE;
        }
        p += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return SCAN_REFUSE; /* a low surrogate first */
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &low) < 0 ||
                low < 0xDC00 || low > 0xDFFF) {
                return SCAN_REFUSE; /* a high surrogate without its pair */
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
        }
        if (out != NULL && put_utf8(out, cp) < 0) {
            return SCAN_NOMEM;
        }
        run = p;
    }
    if (out != NULL && buf_put(out, run, (size_t)(p - run)) < 0) {
        return SCAN_NOMEM;
    }
    *pp = p + 1;
    return SCAN_OK;
}

/* Number literals longer than this are left to msgspec's path, which decides what a reader
   may make of them (Python refuses integers of more than 4300 digits). */
#define MAX_NUMBER_TEXT 64

static int skip_number(const uchar **pp, const uchar *end) {
    const uchar *p = *pp;
    const uchar *first = p;
    if (p < end && *p == '-') {
        p++;
    }
    if (p >= end) {
        return SCAN_REFUSE;
    }
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    } else {
        return SCAN_REFUSE;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            return SCAN_REFUSE;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= end || *p < '0' || *p > '9') {
            return SCAN_REFUSE;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p - first > MAX_NUMBER_TEXT) {
        return SCAN_REFUSE;
    }
    *pp = p;
    return SCAN_OK;
}

static int skip_literal(const uchar **pp, const uchar *end, const char *word, size_t n) {
    if ((size_t)(end - *pp) < n || memcmp(*pp, word, n) != 0) {
        return SCAN_REFUSE;
    }
    *pp += n;
    return SCAN_OK;
}

static int parse_object(Scan *scan, const uchar **pp, const uchar *end, int node, int depth);

/* After an array element or an object member: 1 at a comma (*pp on the next item), 0 at the
   closing bracket (*pp past it), -1 at anything else. */
static int next_item(const uchar **pp, const uchar *end, uchar closer) {
    const uchar *p = skip_ws(*pp, end);
    if (p < end && *p == ',') {
        *pp = skip_ws(p + 1, end);
        return 1;
    }
    if (p < end && *p == closer) {
        *pp = p + 1;
        return 0;
    }
    return -1;
}

static int skip_value(Scan *scan, const uchar **pp, const uchar *end, int depth) {
    if (*pp >= end) {
        return SCAN_REFUSE;
    }
    switch (**pp) {
    case '"':
        return scan_string(pp, end, NULL, NULL);
    case '{':
        return parse_object(scan, pp, end, -1, depth + 1);
    case '[': {
        if (depth + 1 > MAX_DEPTH) {
            return SCAN_REFUSE;
        }
        const uchar *p = skip_ws(*pp + 1, end);
        if (p < end && *p == ']') {
            *pp = p + 1;
            return SCAN_OK;
        }
        for (;;) {
            int rc = skip_value(scan, &p, end, depth + 1);
            if (rc != SCAN_OK) {
                return rc;
            }
            int more = next_item(&p, end, ']');
            if (more <= 0) {
                *pp = p;
                return more < 0 ? SCAN_REFUSE : SCAN_OK;
            }
        }
    }
    case 't':
        return skip_literal(pp, end, "true", 4);
    case 'f':
        return skip_literal(pp, end, "false", 5);
    case 'n':
        return skip_literal(pp, end, "null", 4);
    default:
        return skip_number(pp, end);
    }
}

/* ---- columns ---- */

static int set_bit(Buf *bitmap, size_t bytes, Py_ssize_t row) {
    if (bitmap->data == NULL) {
        bitmap->data = calloc(bytes ? bytes : 1, 1);
        if (bitmap->data == NULL) {
            return -1;
        }
        bitmap->len = bitmap->cap = bytes;
    }
    bitmap->data[row >> 3] |= (uchar)(1u << (row & 7));
    return 0;
}

/* Offsets (or zero ports) for the rows before `row`, which hold no value. */
static int fill_scalar(Column *c, Py_ssize_t row, Py_ssize_t rows) {
    if (c->offsets.cap == 0) {
        /* One offset (or port) per row, and the leading offset: known from the start. */
        if (buf_reserve(&c->offsets, ((size_t)rows + 1) * sizeof(int32_t)) < 0) {
            return -1;
        }
        if (c->role != ROLE_PORT && buf_put_i32(&c->offsets, 0) < 0) {
            return -1;
        }
    }
    if (c->filled >= row) {
        return 0;
    }
    size_t n = (size_t)(row - c->filled);
    if (buf_reserve(&c->offsets, n * sizeof(int32_t)) < 0) {
        return -1;
    }
    int32_t value = c->role == ROLE_PORT ? 0 : (int32_t)c->data.len;
    int32_t *slot = (int32_t *)(void *)(c->offsets.data + c->offsets.len);
    for (size_t i = 0; i < n; i++) {
        slot[i] = value;
    }
    c->offsets.len += n * sizeof(int32_t);
    c->filled = row;
    return 0;
}

static int fill_list(Column *c, Py_ssize_t row) {
    if (c->list_offsets.len == 0) {
        if (buf_put_i32(&c->list_offsets, 0) < 0 || buf_put_i32(&c->child_offsets, 0) < 0) {
            return -1;
        }
    }
    while (c->list_filled < row) {
        if (buf_put_i32(&c->list_offsets, c->children) < 0) {
            return -1;
        }
        c->list_filled++;
    }
    return 0;
}

static int read_string_value(Scan *scan, Column *c, const uchar **pp, const uchar *end,
                             Py_ssize_t row) {
    if (fill_scalar(c, row, scan->rows) < 0) {
        return SCAN_NOMEM;
    }
    int rc = scan_string(pp, end, &c->data, NULL);
    if (rc != SCAN_OK) {
        return rc;
    }
    if (c->data.len > INT32_MAX || buf_put_i32(&c->offsets, (int32_t)c->data.len) < 0 ||
        set_bit(&c->valid, scan->bitmap_bytes, row) < 0) {
        return SCAN_NOMEM;
    }
    c->filled = row + 1;
    c->present = 1;
    return SCAN_OK;
}

static int read_string_list(Scan *scan, Column *c, const uchar **pp, const uchar *end,
                            Py_ssize_t row) {
    if (fill_list(c, row) < 0) {
        return SCAN_NOMEM;
    }
    const uchar *p = skip_ws(*pp + 1, end);
    if (p < end && *p != ']') {
        for (;;) {
            if (p >= end || *p != '"') {
                return SCAN_REFUSE; /* msgspec's path turns other items into text */
            }
            int rc = scan_string(&p, end, &c->child_data, NULL);
            if (rc != SCAN_OK) {
                return rc;
            }
            if (c->child_data.len > INT32_MAX || c->children == INT32_MAX ||
                buf_put_i32(&c->child_offsets, (int32_t)c->child_data.len) < 0) {
                return SCAN_NOMEM;
            }
            c->children++;
            int more = next_item(&p, end, ']');
            if (more < 0) {
                return SCAN_REFUSE;
            }
            if (more == 0) {
                break;
            }
        }
    } else if (p < end) {
        p++; /* the closing bracket of an empty array */
    } else {
        return SCAN_REFUSE;
    }
    *pp = p;
    if (buf_put_i32(&c->list_offsets, c->children) < 0 ||
        set_bit(&c->list_valid, scan->bitmap_bytes, row) < 0) {
        return SCAN_NOMEM;
    }
    c->list_filled = row + 1;
    c->list_present = 1;
    return SCAN_OK;
}

static int read_port(Scan *scan, Column *c, const uchar **pp, const uchar *end, Py_ssize_t row) {
    const uchar *p = *pp;
    int negative = 0;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    const uchar *digits = p;
    if (p < end && *p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    size_t n = (size_t)(p - digits);
    /* A fraction, an exponent or a huge number is left to msgspec's path. */
    if (n == 0 || n > 18 || (p < end && (*p == '.' || *p == 'e' || *p == 'E'))) {
        return SCAN_REFUSE;
    }
    int64_t value = 0;
    for (size_t i = 0; i < n; i++) {
        value = value * 10 + (digits[i] - '0');
    }
    if (negative) {
        value = -value;
    }
    if (fill_scalar(c, row, scan->rows) < 0) {
        return SCAN_NOMEM;
    }
    /* A port outside 32-bit integers is no port (null), as on msgspec's path. */
    int fits = value >= INT32_MIN && value <= INT32_MAX;
    if (buf_put_i32(&c->offsets, fits ? (int32_t)value : 0) < 0) {
        return SCAN_NOMEM;
    }
    if (fits && set_bit(&c->valid, scan->bitmap_bytes, row) < 0) {
        return SCAN_NOMEM;
    }
    c->present = 1; /* the column exists even when its only value is no port */
    c->filled = row + 1;
    *pp = p;
    return SCAN_OK;
}

static int read_leaf(Scan *scan, const Node *leaf, const uchar **pp, const uchar *end) {
    Py_ssize_t row = scan->mark - 1;
    const uchar *p = *pp;
    if (p >= end) {
        return SCAN_REFUSE;
    }
    if (*p == 'n') {
        return skip_literal(pp, end, "null", 4); /* null is no value, in every role */
    }
    Column *c = &scan->columns[leaf->column];
    switch (leaf->role) {
    case ROLE_VALUE:
        if (*p == '"') {
            return read_string_value(scan, c, pp, end, row);
        }
        if (*p == '[') {
            return read_string_list(scan, c, pp, end, row);
        }
        return SCAN_REFUSE;
    case ROLE_TIME:
        return *p == '"' ? read_string_value(scan, c, pp, end, row) : SCAN_REFUSE;
    case ROLE_PORT:
        return (*p == '-' || (*p >= '0' && *p <= '9')) ? read_port(scan, c, pp, end, row)
                                                       : SCAN_REFUSE;
    default:
        return SCAN_REFUSE;
    }
}

/* An object at *pp; `node` is its place in the spelling tree, or -1 outside the tree. */
static int parse_object(Scan *scan, const uchar **pp, const uchar *end, int node, int depth) {
    if (depth > MAX_DEPTH) {
        return SCAN_REFUSE;
    }
    Scanner *s = scan->scanner;
    const uchar *p = skip_ws(*pp + 1, end);
    if (p < end && *p == '}') {
        *pp = p + 1;
        return SCAN_OK;
    }
    for (;;) {
        if (p >= end || *p != '"') {
            return SCAN_REFUSE;
        }
        const uchar *key = p + 1;
        int escaped = 0;
        int rc = scan_string(&p, end, NULL, &escaped);
        if (rc != SCAN_OK) {
            return rc;
        }
        int child = -1;
        if (node != -1 || depth == 1) {
            if (escaped) {
                return SCAN_REFUSE; /* a key with escapes could spell a known key */
            }
            child = find_child(s, depth == 1 ? -1 : node, key, (size_t)(p - 1 - key));
        }
        p = skip_ws(p, end);
        if (p >= end || *p != ':') {
            return SCAN_REFUSE;
        }
        p = skip_ws(p + 1, end);
        if (child < 0) {
            rc = skip_value(scan, &p, end, depth);
        } else {
            if (scan->seen[child] == scan->mark) {
                return SCAN_REFUSE; /* a repeated key: msgspec keeps the last, left to it */
            }
            scan->seen[child] = scan->mark;
            const Node *found = &s->nodes[child];
            if (found->role == ROLE_NODE) {
                rc = (p < end && *p == '{') ? parse_object(scan, &p, end, child, depth + 1)
                                            : SCAN_REFUSE;
            } else {
                rc = read_leaf(scan, found, &p, end);
            }
        }
        if (rc != SCAN_OK) {
            return rc;
        }
        int more = next_item(&p, end, '}');
        if (more <= 0) {
            *pp = p;
            return more < 0 ? SCAN_REFUSE : SCAN_OK;
        }
    }
}

static int blank(const uchar *p, const uchar *end) {
    for (; p < end; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\f' && *p != '\v') {
            return 0;
        }
    }
    return 1;
}

static int scan_lines(Scan *scan, const uchar *data, size_t size) {
    const uchar *line = data;
    const uchar *stop = data + size;
    while (line < stop) {
        const uchar *end = memchr(line, '\n', (size_t)(stop - line));
        const uchar *next = end ? end + 1 : stop;
        if (end == NULL) {
            end = stop;
        }
        scan->mark++;
        const uchar *p = skip_ws(line, end);
        if (p < end && *p == '{') {
            int rc = parse_object(scan, &p, end, -1, 1);
            if (rc != SCAN_OK) {
                return rc;
            }
            if (skip_ws(p, end) != end) {
                return SCAN_REFUSE;
            }
        } else if (!blank(p, end)) {
            return SCAN_REFUSE;
        }
        line = next;
    }
    return SCAN_OK;
}

/* ---- results ---- */

/* A buffer handed to Python without a copy: it frees its memory when the last view goes. */
typedef struct {
    PyObject_HEAD
    uchar *data;
    Py_ssize_t len;
} Owned;

static int Owned_getbuffer(Owned *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data, self->len, 1, flags);
}

static void Owned_dealloc(Owned *self) {
    free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyBufferProcs Owned_as_buffer = {
    .bf_getbuffer = (getbufferproc)Owned_getbuffer,
};

static PyTypeObject OwnedType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "indicia.matching._ecs_scan.Owned",
    .tp_basicsize = sizeof(Owned),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Read-only bytes of a scanned column (buffer protocol).",
    .tp_dealloc = (destructor)Owned_dealloc,
    .tp_as_buffer = &Owned_as_buffer,
};

/* The buffer's memory as an Owned object; the Buf gives it up. */
static PyObject *take_bytes(Buf *b) {
    if (b->data == NULL) {
        return PyBytes_FromStringAndSize(NULL, 0); /* nothing was written: no memory to own */
    }
    Owned *owned = PyObject_New(Owned, &OwnedType);
    if (owned == NULL) {
        return NULL;
    }
    owned->data = b->data;
    owned->len = (Py_ssize_t)b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return (PyObject *)owned;
}

static PyObject *bitmap_bytes(Buf *bitmap, size_t bytes) {
    if (bitmap->data == NULL) {
        /* No row holds a value (a port out of range, say): every bit clear. */
        bitmap->data = calloc(bytes ? bytes : 1, 1);
        if (bitmap->data == NULL) {
            return PyErr_NoMemory();
        }
        bitmap->cap = bytes ? bytes : 1;
    }
    bitmap->len = bytes;
    return take_bytes(bitmap);
}

static PyObject *column_result(Scan *scan, Column *c) {
    Py_ssize_t rows = scan->rows;
    PyObject *scalar = Py_None, *list = Py_None;
    Py_INCREF(Py_None);
    Py_INCREF(Py_None);
    if (c->present) {
        if (fill_scalar(c, rows, rows) < 0) {
            goto nomem;
        }
        Py_DECREF(scalar);
        if (c->role == ROLE_PORT) {
            scalar = Py_BuildValue("(NN)", bitmap_bytes(&c->valid, scan->bitmap_bytes),
                                   take_bytes(&c->offsets));
        } else {
            scalar = Py_BuildValue("(NNN)", bitmap_bytes(&c->valid, scan->bitmap_bytes),
                                   take_bytes(&c->offsets), take_bytes(&c->data));
        }
        if (scalar == NULL) {
            Py_DECREF(list);
            return NULL;
        }
    }
    if (c->list_present) {
        if (fill_list(c, rows) < 0) {
            goto nomem;
        }
        Py_DECREF(list);
        list = Py_BuildValue("(NNNN)", bitmap_bytes(&c->list_valid, scan->bitmap_bytes),
                             take_bytes(&c->list_offsets), take_bytes(&c->child_offsets),
                             take_bytes(&c->child_data));
        if (list == NULL) {
            Py_DECREF(scalar);
            return NULL;
        }
    }
    return Py_BuildValue("(NN)", scalar, list);
nomem:
    Py_DECREF(scalar);
    Py_DECREF(list);
    return PyErr_NoMemory();
}

static void free_columns(Column *columns, int count) {
    if (columns == NULL) {
        return;
    }
    for (int i = 0; i < count; i++) {
        Column *c = &columns[i];
        buf_free(&c->valid);
        buf_free(&c->offsets);
        buf_free(&c->data);
        buf_free(&c->list_valid);
        buf_free(&c->list_offsets);
        buf_free(&c->child_offsets);
        buf_free(&c->child_data);
    }
    free(columns);
}

static PyObject *Scanner_scan(Scanner *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const uchar *data = view.buf;
    size_t size = (size_t)view.len;
    Py_ssize_t rows = 0;
    for (const uchar *p = data, *stop = data + size; p < stop;) {
        const uchar *nl = memchr(p, '\n', (size_t)(stop - p));
        rows++;
        p = nl ? nl + 1 : stop;
    }
    if (size >= INT32_MAX) {
        PyBuffer_Release(&view);
        Py_RETURN_NONE; /* int32 offsets: a block this large is read by msgspec's path */
    }
    Scan scan = {self, NULL, rows, (size_t)(rows + 7) / 8, NULL, 0};
    scan.columns = calloc((size_t)self->column_count + 1, sizeof(Column));
    scan.seen = calloc((size_t)self->node_count + 1, sizeof(int64_t));
    PyObject *result = NULL;
    if (scan.columns == NULL || scan.seen == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (int i = 0; i < self->node_count; i++) {
        if (self->nodes[i].role != ROLE_NODE) {
            scan.columns[self->nodes[i].column].role = self->nodes[i].role;
        }
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = scan_lines(&scan, data, size);
    Py_END_ALLOW_THREADS
    if (rc == SCAN_NOMEM) {
        PyErr_NoMemory();
        goto done;
    }
    if (rc == SCAN_REFUSE) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    PyObject *columns = PyList_New(self->column_count);
    if (columns == NULL) {
        goto done;
    }
    for (int i = 0; i < self->column_count; i++) {
        PyObject *item = column_result(&scan, &scan.columns[i]);
        if (item == NULL) {
            Py_DECREF(columns);
            goto done;
        }
        PyList_SET_ITEM(columns, i, item);
    }
    result = Py_BuildValue("(nN)", rows, columns);
done:
    free_columns(scan.columns, self->column_count);
    free(scan.seen);
    PyBuffer_Release(&view);
    return result;
}

/* Scanner(spellings): spellings is a sequence of (keys: tuple[bytes, ...], role: int). */
static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwargs) {
    PyObject *spellings;
    static char *names[] = {"spellings", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O", names, &spellings)) {
        return -1;
    }
    if (self->nodes != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Scanner is set up once");
        return -1;
    }
    /* A tuple copy: nothing the items run (a role's __index__, say) can change it. */
    PyObject *items = PySequence_Tuple(spellings);
    if (items == NULL) {
        return -1;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(items);
    Py_ssize_t capacity = 0;
    int *roles = PyMem_Calloc((size_t)count + 1, sizeof(int));
    if (roles == NULL) {
        Py_DECREF(items);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyTuple_GET_ITEM(items, i);
        PyObject *keys;
        int role;
        if (!PyTuple_Check(pair) || !PyArg_ParseTuple(pair, "O!i", &PyTuple_Type, &keys, &role)) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "a spelling is a (keys, role) tuple");
            }
            PyMem_Free(roles);
            Py_DECREF(items);
            return -1;
        }
        if (role < ROLE_VALUE || role > ROLE_ABSENT || PyTuple_GET_SIZE(keys) == 0) {
            PyErr_SetString(PyExc_ValueError, "a spelling needs keys and a known role");
            PyMem_Free(roles);
            Py_DECREF(items);
            return -1;
        }
        roles[i] = role;
        capacity += PyTuple_GET_SIZE(keys);
    }
    if (capacity >= HASH_SLOTS / 2) {
        PyErr_SetString(PyExc_ValueError, "too many spelling keys");
        PyMem_Free(roles);
        Py_DECREF(items);
        return -1;
    }
    self->nodes = PyMem_Calloc((size_t)capacity + 1, sizeof(Node));
    if (self->nodes == NULL) {
        PyMem_Free(roles);
        Py_DECREF(items);
        PyErr_NoMemory();
        return -1;
    }
    self->column_count = (int)count;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyTuple_GET_ITEM(items, i);
        PyObject *keys = PyTuple_GET_ITEM(pair, 0);
        int role = roles[i];
        int parent = -1;
        Py_ssize_t depth = PyTuple_GET_SIZE(keys);
        for (Py_ssize_t k = 0; k < depth; k++) {
            PyObject *key = PyTuple_GET_ITEM(keys, k);
            if (!PyBytes_Check(key)) {
                PyErr_SetString(PyExc_TypeError, "spelling keys must be bytes");
                PyMem_Free(roles);
                Py_DECREF(items);
                return -1;
            }
            const uchar *text = (const uchar *)PyBytes_AS_STRING(key);
            size_t n = (size_t)PyBytes_GET_SIZE(key);
            int last = k == depth - 1;
            int found = find_child(self, parent, text, n);
            if (found >= 0) {
                if (last || self->nodes[found].role != ROLE_NODE) {
                    PyErr_SetString(PyExc_ValueError, "spellings overlap");
                    PyMem_Free(roles);
                    Py_DECREF(items);
                    return -1;
                }
                parent = found;
                continue;
            }
            int index = self->node_count++;
            Node *node = &self->nodes[index];
            node->parent = parent;
            node->role = last ? role : ROLE_NODE;
            node->column = last ? (int)i : -1;
            Py_INCREF(key);
            node->key = key;
            uint32_t slot = key_hash(parent, text, n) & (HASH_SLOTS - 1);
            while (self->slots[slot] != 0) {
                slot = (slot + 1) & (HASH_SLOTS - 1);
            }
            self->slots[slot] = index + 1;
            parent = index;
        }
    }
    PyMem_Free(roles);
    Py_DECREF(items);
    return 0;
}

static void Scanner_dealloc(Scanner *self) {
    if (self->nodes != NULL) {
        for (int i = 0; i < self->node_count; i++) {
            Py_XDECREF(self->nodes[i].key);
        }
        PyMem_Free(self->nodes);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- helpers over Arrow string arrays ---- */

/* The number of a dotted quad in the canonical form (octets 0-255, no leading zeros), or -1. */
static int64_t ipv4_number(const uchar *p, size_t n) {
    uint32_t number = 0;
    size_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (i >= n || p[i] != '.') {
                return -1;
            }
            i++;
        }
        size_t start = i;
        uint32_t value = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9' && i - start < 3) {
            value = value * 10 + (uint32_t)(p[i] - '0');
            i++;
        }
        size_t digits = i - start;
        if (digits == 0 || value > 255 || (digits > 1 && p[start] == '0')) {
            return -1;
        }
        number = (number << 8) | value;
    }
    return i == n ? (int64_t)number : -1;
}

/*
 * The fast shapes of batch_plan (FAST_DOMAIN_RE, FAST_URL_RE, DOT_SEGMENT_RE) and the name
 * rules of batch_families._fast_name, as code. A value they accept is canonical as it is (or
 * with the root path added); anything else goes to the Python pass, so these checks may be
 * narrower than the canonicalisers but never wider.
 */
static int label_char(uchar c, int underscore) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (underscore && c == '_');
}

/* ({LABEL}\.)+ then a last label: at least two labels, each 1-63 characters, no hyphen first
   or last; underscores outside the last label. */
static int fast_domain(const uchar *p, size_t n) {
    size_t start = 0, labels = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '.') {
            continue;
        }
        size_t length = i - start;
        int last = i == n;
        if (length == 0 || length > 63 || p[start] == '-' || p[i - 1] == '-') {
            return 0;
        }
        for (size_t k = start; k < i; k++) {
            if (!label_char(p[k], !last)) {
                return 0;
            }
        }
        labels++;
        start = i + 1;
    }
    return labels >= 2;
}

/* A fast-shape domain that is also a canonical name: no punycode, at most 253 characters
   (RFC 1035 2.3.4), a top-level label that is not all digits (RFC 3696 2). */
static int fast_name(const uchar *p, size_t n) {
    if (n > 253 || !fast_domain(p, n)) {
        return 0;
    }
    for (size_t i = 0; i + 4 <= n; i++) {
        if (p[i] == 'x' && p[i + 1] == 'n' && p[i + 2] == '-' && p[i + 3] == '-') {
            return 0;
        }
    }
    size_t i = n;
    while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9') {
        i--;
    }
    return !(i > 0 && i < n && p[i - 1] == '.');
}

static int url_rest_char(uchar c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return 1;
    }
    return c != 0 && strchr("-._~:/?[]@!$&'()*+,;=", c) != NULL;
}

/* A "/." or "/.." path segment (RFC 3986 5.2.4), anywhere. */
static int dot_segment(const uchar *p, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] != '/' || p[i + 1] != '.') {
            continue;
        }
        for (size_t j = i + 2; j <= i + 3 && j <= n; j++) {
            if (j == n || p[j] == '/' || p[j] == '?') {
                return 1;
            }
            if (p[j] != '.') {
                break;
            }
        }
    }
    return 0;
}

/* Where a fast URL's host starts and ends, or 0 when the URL is not of the fast shape. */
static int fast_url(const uchar *p, size_t n, size_t *host, size_t *host_end) {
    size_t i = 0;
    if (n == 0 || p[0] < 'a' || p[0] > 'z') {
        return 0;
    }
    while (i < n && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') ||
                     p[i] == '+' || p[i] == '.' || p[i] == '-')) {
        i++;
    }
    if (n - i < 3 || memcmp(p + i, "://", 3) != 0) {
        return 0;
    }
    i += 3;
    size_t start = i;
    while (i < n && p[i] != '/' && p[i] != '?') {
        i++;
    }
    size_t end = i;
    if (ipv4_number(p + start, end - start) < 0 && !fast_name(p + start, end - start)) {
        return 0;
    }
    for (; i < n; i++) {
        if (!url_rest_char(p[i])) {
            return 0;
        }
    }
    if (dot_segment(p, n)) {
        return 0;
    }
    *host = start;
    *host_end = end;
    return 1;
}

typedef struct {
    Py_ssize_t length, offset;
    int has_validity;
    Py_buffer validity, offsets, data;
} StringArg;

static int string_arg(PyObject *args, StringArg *a) {
    PyObject *validity_obj;
    memset(a, 0, sizeof *a);
    if (!PyArg_ParseTuple(args, "nnOy*y*", &a->length, &a->offset, &validity_obj, &a->offsets,
                          &a->data)) {
        return -1;
    }
    a->has_validity = validity_obj != Py_None;
    if (a->has_validity && PyObject_GetBuffer(validity_obj, &a->validity, PyBUF_SIMPLE) < 0) {
        a->has_validity = 0;
        PyBuffer_Release(&a->offsets);
        PyBuffer_Release(&a->data);
        return -1;
    }
    if (a->length < 0 || a->offset < 0 ||
        (size_t)a->offsets.len < ((size_t)(a->offset + a->length) + 1) * sizeof(int32_t) ||
        (a->has_validity && (size_t)a->validity.len * 8 < (size_t)(a->offset + a->length))) {
        PyErr_SetString(PyExc_ValueError, "buffers too short for the array");
        return -1;
    }
    return 0;
}

static void string_arg_release(StringArg *a) {
    if (a->has_validity) {
        PyBuffer_Release(&a->validity);
    }
    if (a->offsets.obj != NULL) {
        PyBuffer_Release(&a->offsets);
    }
    if (a->data.obj != NULL) {
        PyBuffer_Release(&a->data);
    }
}

/* The bytes of value i, or NULL for a null (or offsets outside the data). */
static const uchar *string_at(const StringArg *a, Py_ssize_t i, size_t *n) {
    Py_ssize_t at = a->offset + i;
    if (a->has_validity && !(((const uchar *)a->validity.buf)[at >> 3] & (1u << (at & 7)))) {
        return NULL;
    }
    const int32_t *ends = a->offsets.buf;
    int32_t start = ends[at], stop = ends[at + 1];
    if (start < 0 || stop < start || (Py_ssize_t)stop > a->data.len) {
        return NULL;
    }
    *n = (size_t)(stop - start);
    return (const uchar *)a->data.buf + start;
}

static int bitmap_new(Buf *b, Py_ssize_t length) {
    size_t bytes = ((size_t)length + 7) / 8;
    if (buf_reserve(b, bytes ? bytes : 1) < 0) {
        return -1;
    }
    memset(b->data, 0, bytes ? bytes : 1);
    b->len = bytes;
    return 0;
}

/* ipv4_numbers(length, offset, validity, offsets, data) -> (validity, values): for an Arrow
   string array's buffers, the uint32 number of each value that is a canonical dotted quad;
   null for any other value (the caller's slower checks decide those). */
static PyObject *ipv4_numbers(PyObject *module, PyObject *args) {
    (void)module;
    StringArg a;
    PyObject *result = NULL;
    Buf valid = {0}, values = {0};
    if (string_arg(args, &a) < 0) {
        goto done;
    }
    if (bitmap_new(&valid, a.length) < 0 ||
        buf_reserve(&values, ((size_t)a.length + 1) * sizeof(uint32_t)) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    uint32_t *out = (uint32_t *)(void *)values.data;
    for (Py_ssize_t i = 0; i < a.length; i++) {
        size_t n;
        const uchar *p = string_at(&a, i, &n);
        int64_t number = p == NULL ? -1 : ipv4_number(p, n);
        out[i] = number < 0 ? 0 : (uint32_t)number;
        if (number >= 0) {
            valid.data[i >> 3] |= (uchar)(1u << (i & 7));
        }
    }
    values.len = (size_t)a.length * sizeof(uint32_t);
    result = Py_BuildValue("(NN)", take_bytes(&valid), take_bytes(&values));
done:
    buf_free(&valid);
    buf_free(&values);
    string_arg_release(&a);
    return result;
}

/* fast_names(length, offset, validity, offsets, data) -> bitmap of the values already canonical
   domain names of the fast shape. */
static PyObject *fast_names(PyObject *module, PyObject *args) {
    (void)module;
    StringArg a;
    PyObject *result = NULL;
    Buf bits = {0};
    if (string_arg(args, &a) < 0) {
        goto done;
    }
    if (bitmap_new(&bits, a.length) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < a.length; i++) {
        size_t n;
        const uchar *p = string_at(&a, i, &n);
        if (p != NULL && fast_name(p, n)) {
            bits.data[i >> 3] |= (uchar)(1u << (i & 7));
        }
    }
    result = take_bytes(&bits);
done:
    buf_free(&bits);
    string_arg_release(&a);
    return result;
}

/* fast_urls(length, offset, validity, offsets, data) -> ((validity, offsets, data) of the
   canonical URLs, (validity, offsets, data) of their hosts): null where a URL is not of the
   fast shape. A URL without a path gets the root path "/" (RFC 3986 6.2.3). */
static PyObject *fast_urls(PyObject *module, PyObject *args) {
    (void)module;
    StringArg a;
    PyObject *result = NULL;
    Buf canon_valid = {0}, canon_offsets = {0}, canon_data = {0};
    Buf host_valid = {0}, host_offsets = {0}, host_data = {0};
    if (string_arg(args, &a) < 0) {
        goto done;
    }
    size_t offsets_size = ((size_t)a.length + 1) * sizeof(int32_t);
    if (bitmap_new(&canon_valid, a.length) < 0 || bitmap_new(&host_valid, a.length) < 0 ||
        buf_reserve(&canon_offsets, offsets_size) < 0 ||
        buf_reserve(&host_offsets, offsets_size) < 0 || buf_put_i32(&canon_offsets, 0) < 0 ||
        buf_put_i32(&host_offsets, 0) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < a.length; i++) {
        size_t n, host = 0, host_end = 0;
        const uchar *p = string_at(&a, i, &n);
        if (p != NULL && fast_url(p, n, &host, &host_end)) {
            int bare = host_end == n || p[host_end] == '?';
            if (buf_put(&canon_data, p, host_end) < 0 || (bare && buf_put(&canon_data, "/", 1) < 0) ||
                buf_put(&canon_data, p + host_end, n - host_end) < 0 ||
                buf_put(&host_data, p + host, host_end - host) < 0) {
                PyErr_NoMemory();
                goto done;
            }
            canon_valid.data[i >> 3] |= (uchar)(1u << (i & 7));
            host_valid.data[i >> 3] |= (uchar)(1u << (i & 7));
        }
        if (canon_data.len > INT32_MAX || host_data.len > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "URL column over 2 GiB");
            goto done;
        }
        buf_put_i32(&canon_offsets, (int32_t)canon_data.len);
        buf_put_i32(&host_offsets, (int32_t)host_data.len);
    }
    result = Py_BuildValue("((NNN)(NNN))", take_bytes(&canon_valid), take_bytes(&canon_offsets),
                           take_bytes(&canon_data), take_bytes(&host_valid),
                           take_bytes(&host_offsets), take_bytes(&host_data));
done:
    buf_free(&canon_valid);
    buf_free(&canon_offsets);
    buf_free(&canon_data);
    buf_free(&host_valid);
    buf_free(&host_offsets);
    buf_free(&host_data);
    string_arg_release(&a);
    return result;
}

/* suffixes(k, length, offset, validity, offsets, data) -> (validity, offsets, data): each
   name's parent domain of k labels (the name itself when it has k labels), null when it has
   fewer labels or one of the last k is empty. */
static PyObject *suffixes(PyObject *module, PyObject *args) {
    (void)module;
    Py_ssize_t k;
    if (PyTuple_GET_SIZE(args) < 1) {
        PyErr_SetString(PyExc_TypeError, "suffixes(k, length, offset, validity, offsets, data)");
        return NULL;
    }
    k = PyLong_AsSsize_t(PyTuple_GET_ITEM(args, 0));
    if (k == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (k < 1) {
        PyErr_SetString(PyExc_ValueError, "k must be at least 1");
        return NULL;
    }
    PyObject *rest = PyTuple_GetSlice(args, 1, PyTuple_GET_SIZE(args));
    if (rest == NULL) {
        return NULL;
    }
    StringArg a;
    int parsed = string_arg(rest, &a);
    Py_DECREF(rest);
    PyObject *result = NULL;
    Buf valid = {0}, offsets = {0}, data = {0};
    if (parsed < 0) {
        goto done;
    }
    if (bitmap_new(&valid, a.length) < 0 ||
        buf_reserve(&offsets, ((size_t)a.length + 1) * sizeof(int32_t)) < 0 ||
        buf_put_i32(&offsets, 0) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < a.length; i++) {
        size_t n;
        const uchar *p = string_at(&a, i, &n);
        if (p != NULL) {
            /* Walk back over k labels. */
            Py_ssize_t labels = 0;
            size_t start = n, end = n;
            int empty = 0;
            while (labels < k) {
                size_t j = end;
                while (j > 0 && p[j - 1] != '.') {
                    j--;
                }
                empty |= j == end;
                labels++;
                start = j;
                if (j == 0) {
                    break;
                }
                end = j - 1;
            }
            int whole = start == 0 && labels == k;
            if (labels == k && (whole || !empty)) {
                if (buf_put(&data, p + start, n - start) < 0) {
                    PyErr_NoMemory();
                    goto done;
                }
                valid.data[i >> 3] |= (uchar)(1u << (i & 7));
            }
        }
        if (data.len > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "name column over 2 GiB");
            goto done;
        }
        buf_put_i32(&offsets, (int32_t)data.len);
    }
    result = Py_BuildValue("(NNN)", take_bytes(&valid), take_bytes(&offsets), take_bytes(&data));
done:
    buf_free(&valid);
    buf_free(&offsets);
    buf_free(&data);
    string_arg_release(&a);
    return result;
}

/* positions(n) -> the int32 values 0 .. n-1, as a buffer. */
static PyObject *positions(PyObject *module, PyObject *arg) {
    (void)module;
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (n < 0 || n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "positions need 0 <= n < 2**31");
        return NULL;
    }
    Buf values = {0};
    if (buf_reserve(&values, ((size_t)n + 1) * sizeof(int32_t)) < 0) {
        return PyErr_NoMemory();
    }
    int32_t *out = (int32_t *)(void *)values.data;
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = (int32_t)i;
    }
    values.len = (size_t)n * sizeof(int32_t);
    return take_bytes(&values);
}

static PyMethodDef module_methods[] = {
    {"ipv4_numbers", ipv4_numbers, METH_VARARGS,
     "ipv4_numbers(length, offset, validity, offsets, data) -> (validity, values): the uint32 "
     "number of each canonical dotted quad of an Arrow string array, null for other values."},
    {"positions", positions, METH_O, "positions(n) -> buffer of the int32 values 0 .. n-1."},
    {"suffixes", suffixes, METH_VARARGS,
     "suffixes(k, length, offset, validity, offsets, data) -> buffers of each name's parent "
     "domain of k labels, null where there is none."},
    {"fast_names", fast_names, METH_VARARGS,
     "fast_names(length, offset, validity, offsets, data) -> bitmap of canonical fast names."},
    {"fast_urls", fast_urls, METH_VARARGS,
     "fast_urls(length, offset, validity, offsets, data) -> (canonical URLs, hosts) buffers, "
     "null where a URL is not of the fast shape."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_O,
     "scan(data) -> (rows, columns) or None: the columns of whole JSON lines, per spelling "
     "((validity, offsets, data) or (validity, values) for ports, and the list part), or None "
     "when a line needs msgspec's path."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "indicia.matching._ecs_scan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reads ECS JSON lines into Arrow buffers for a fixed set of field spellings.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "indicia.matching._ecs_scan",
    .m_doc = "ECS JSON lines into Arrow buffers: the batch engine's fast path.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__ecs_scan(void) {
    init_plain();
    if (PyType_Ready(&ScannerType) < 0 || PyType_Ready(&OwnedType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "VALUE", ROLE_VALUE) < 0 ||
        PyModule_AddIntConstant(m, "PORT", ROLE_PORT) < 0 ||
        PyModule_AddIntConstant(m, "TIME", ROLE_TIME) < 0 ||
        PyModule_AddIntConstant(m, "ABSENT", ROLE_ABSENT) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
