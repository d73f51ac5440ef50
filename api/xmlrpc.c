/*
** XML-RPC codec (see xmlrpc.h).  Decoding parses the whole body into a
** libxml2 DOM with a hardened parser context, then walks the tree into
** xvals; encoding writes the bytes directly, exactly as ocaml-rpc's
** xmlrpc.ml does, so that responses are byte-for-byte those of xapi.
**
** Whitespace follows ocaml-rpc: between elements, text made only of blanks
** is ignored; the text of an untyped <value> and of <string> and <name> is
** kept exactly; the text of numbers, booleans, datetimes and methodName is
** trimmed of surrounding blanks.
*/
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "api/xmlrpc.h"
#include "lib/check.h"
#include "lib/xmalloc.h"

/* ---- encoding -------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static char *
sb_finish(struct sbuf *b, size_t *len)
{
	if (b->p == NULL)
		sb_add(b, "", 0);
	if (len != NULL)
		*len = b->len;
	return b->p;
}

/* Character data as ocaml-rpc writes it: & < > " escaped, C0 controls other
** than TAB, LF and CR dropped.  Two deliberate differences keep every
** output well-formed and lossless where XML allows: CR is written as &#13;
** (a raw CR would be read back as LF), and bytes that are not valid UTF-8,
** or U+FFFE/U+FFFF, become U+FFFD. */
static void
sb_text(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned c = *p;
		size_t n;

		if (c < 0x80) {
			switch (c) {
			case '<':
				sb_puts(b, "&lt;");
				break;
			case '>':
				sb_puts(b, "&gt;");
				break;
			case '&':
				sb_puts(b, "&amp;");
				break;
			case '"':
				sb_puts(b, "&quot;");
				break;
			case '\r':
				sb_puts(b, "&#13;");
				break;
			default:
				if (c >= 0x20 || c == '\t' || c == '\n')
					sb_add(b, (const char *)p, 1);
				break;
			}
			p++;
			continue;
		}
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (strnlen((const char *)p, n) == n && xval_utf8_valid((const char *)p, n) &&
		    !(n == 3 && p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))) {
			sb_add(b, (const char *)p, n);
			p += n;
		} else {
			sb_puts(b, "\xef\xbf\xbd");
			p++;
		}
	}
}

static void
enc_value(struct sbuf *b, const struct xval *v)
{
	char num[64];
	size_t i;

	switch (v->type) {
	case XVAL_NIL:
		sb_puts(b, "<value><nil/></value>");
		break;
	case XVAL_BOOL:
		sb_puts(b, v->u.b ? "<value><boolean>1</boolean></value>"
		                  : "<value><boolean>0</boolean></value>");
		break;
	case XVAL_INT:
		/* xapi carries int64 as an untyped (string) value, int32 as <i4>. */
		if (v->int32)
			snprintf(num, sizeof(num), "<value><i4>%" PRId64 "</i4></value>", v->u.i);
		else
			snprintf(num, sizeof(num), "<value>%" PRId64 "</value>", v->u.i);
		sb_puts(b, num);
		break;
	case XVAL_DOUBLE:
		snprintf(num, sizeof(num), "<value><double>%.16g</double></value>", v->u.d);
		sb_puts(b, num);
		break;
	case XVAL_STRING:
		sb_puts(b, "<value>");
		sb_text(b, v->u.s);
		sb_puts(b, "</value>");
		break;
	case XVAL_DATETIME:
		sb_puts(b, "<value><dateTime.iso8601>");
		sb_text(b, v->u.s);
		sb_puts(b, "</dateTime.iso8601></value>");
		break;
	case XVAL_ARRAY:
		sb_puts(b, "<value><array><data>");
		for (i = 0; i < v->u.a.n; i++)
			enc_value(b, v->u.a.v[i]);
		sb_puts(b, "</data></array></value>");
		break;
	case XVAL_STRUCT:
		sb_puts(b, "<value><struct>");
		for (i = 0; i < v->u.st.n; i++) {
			sb_puts(b, "<member><name>");
			sb_text(b, v->u.st.m[i].name);
			sb_puts(b, "</name>");
			enc_value(b, v->u.st.m[i].value);
			sb_puts(b, "</member>");
		}
		sb_puts(b, "</struct></value>");
		break;
	}
}

static char *
enc_response(const char *status, const char *key, const struct xval *v, size_t *len)
{
	struct sbuf b = {0};

	sb_puts(&b, "<?xml version=\"1.0\"?><methodResponse><params><param>");
	if (status != NULL) {
		sb_puts(&b, "<value><struct><member><name>Status</name><value>");
		sb_puts(&b, status);
		sb_puts(&b, "</value></member><member><name>");
		sb_puts(&b, key);
		sb_puts(&b, "</name>");
		enc_value(&b, v);
		sb_puts(&b, "</member></struct></value>");
	} else {
		enc_value(&b, v);
	}
	sb_puts(&b, "</param></params></methodResponse>");
	return sb_finish(&b, len);
}

char *
xmlrpc_encode_success(const struct xval *value, size_t *len)
{
	return enc_response("Success", "Value", value, len);
}

char *
xmlrpc_encode_failure(const struct xval *error, size_t *len)
{
	return enc_response("Failure", "ErrorDescription", error, len);
}

char *
xmlrpc_encode_bare(const struct xval *value, size_t *len)
{
	return enc_response(NULL, NULL, value, len);
}

char *
xmlrpc_encode_call(const char *method, const struct xval *params, size_t *len)
{
	struct sbuf b = {0};
	size_t i;

	sb_puts(&b, "<?xml version=\"1.0\"?><methodCall><methodName>");
	sb_text(&b, method);
	sb_puts(&b, "</methodName><params>");
	if (params != NULL) {
		ha_assert(params->type == XVAL_ARRAY);
		for (i = 0; i < params->u.a.n; i++) {
			sb_puts(&b, "<param>");
			enc_value(&b, params->u.a.v[i]);
			sb_puts(&b, "</param>");
		}
	}
	sb_puts(&b, "</params></methodCall>");
	return sb_finish(&b, len);
}

/* ---- decoding -------------------------------------------------------- */

struct dctx {
	char *err;
	size_t errsz;
	int rc;       /* 0, or the first failure's XVAL_E* code */
	size_t nodes; /* values built so far */
	int dtd;      /* a <!DOCTYPE> was seen and refused */
	int xml_line;
	char xml_msg[160]; /* libxml2's first message */
};

static void fail(struct dctx *d, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct dctx *d, int rc, const char *fmt, ...)
{
	va_list ap;

	if (d->rc != 0)
		return; /* keep the first reason */
	d->rc = rc;
	va_start(ap, fmt);
	vsnprintf(d->err, d->errsz, fmt, ap);
	va_end(ap);
}

/* libxml2 reports through here, never to stderr. */
static void
on_xml_error(void *user, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = e != NULL ? e->ctxt : NULL;
	struct dctx *d;
	size_t n;

	if (ctxt == NULL)
		ctxt = user;
	if (ctxt == NULL || ctxt->_private == NULL || e == NULL)
		return;
	d = ctxt->_private;
	if (d->xml_msg[0] != '\0' || e->level < XML_ERR_ERROR)
		return;
	snprintf(d->xml_msg, sizeof(d->xml_msg), "%s", e->message ? e->message : "error");
	n = strlen(d->xml_msg);
	while (n > 0 && (d->xml_msg[n - 1] == '\n' || d->xml_msg[n - 1] == ' '))
		d->xml_msg[--n] = '\0';
	d->xml_line = e->line;
}

static void
on_generic_error(void *user, const char *msg, ...)
{
}

/* A document type declaration is where entities (external ones for XXE,
** nested ones for expansion bombs) are declared: refuse it outright. */
static void
on_dtd(void *user, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = user;
	struct dctx *d = ctxt->_private;

	d->dtd = 1;
	xmlStopParser(ctxt);
}

static void
on_entity_decl(void *user, const xmlChar *name, int type, const xmlChar *public_id,
               const xmlChar *system_id, xmlChar *content)
{
	on_dtd(user, NULL, NULL, NULL);
}

static xmlDocPtr
parse_body(struct dctx *d, const char *body, size_t len, size_t max_body)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;

	if (len > max_body || len > INT_MAX) {
		fail(d, XVAL_ELIMIT, "the XML-RPC body is %zu bytes, over the limit of %zu", len,
		     max_body < INT_MAX ? max_body : (size_t)INT_MAX);
		return NULL;
	}
	xmlInitParser();
	/* Messages libxml2 raises outside a parser context (thread-local). */
	xmlSetGenericErrorFunc(NULL, on_generic_error);
	ctxt = xmlNewParserCtxt();
	ha_assert(ctxt != NULL);
	ctxt->_private = d;
	ctxt->sax->serror = on_xml_error;
	ctxt->sax->internalSubset = on_dtd;
	ctxt->sax->externalSubset = on_dtd;
	ctxt->sax->entityDecl = on_entity_decl;
	/* No XML_PARSE_NOENT (entities are never substituted), no DTDLOAD, no
	** HUGE (libxml2 keeps its own depth and text-size limits). */
	doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                            XML_PARSE_NOCDATA);
	if (d->dtd || (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))) {
		fail(d, XVAL_EBAD, "a document type declaration (DTD) is not allowed in XML-RPC");
		goto fail;
	}
	if (doc == NULL || !ctxt->wellFormed) {
		if (d->xml_msg[0] != '\0')
			fail(d, XVAL_EBAD, "the body is not well-formed XML (line %d: %s)",
			     d->xml_line, d->xml_msg);
		else
			fail(d, XVAL_EBAD, "the body is not well-formed XML");
		goto fail;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
fail:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return NULL;
}

static int
is_blank(const xmlChar *s)
{
	if (s == NULL)
		return 1;
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

static const char *
ename(xmlNodePtr n)
{
	return (const char *)n->name;
}

/* From n (inclusive), the next element sibling, skipping comments,
** processing instructions and blank text.  NULL at the end, or on an error
** (d->rc set) such as non-blank text where only elements belong. */
static xmlNodePtr
skip_to_elem(struct dctx *d, xmlNodePtr n, xmlNodePtr parent)
{
	for (; n != NULL; n = n->next) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
			return n;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (!is_blank(n->content)) {
				fail(d, XVAL_EBAD, "unexpected text inside <%.40s>", ename(parent));
				return NULL;
			}
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		default:
			fail(d, XVAL_EBAD, "unexpected XML node (type %d) inside <%.40s>",
			     (int)n->type, ename(parent));
			return NULL;
		}
	}
	return NULL;
}

/* The next element after *cur, which must be called `name`. */
static xmlNodePtr
expect_elem(struct dctx *d, xmlNodePtr from, xmlNodePtr parent, const char *name)
{
	xmlNodePtr e = skip_to_elem(d, from, parent);

	if (d->rc != 0)
		return NULL;
	if (e == NULL) {
		fail(d, XVAL_EBAD, "<%.40s> has no <%s>", ename(parent), name);
		return NULL;
	}
	if (strcmp(ename(e), name) != 0) {
		fail(d, XVAL_EBAD, "<%.40s> found where <%s> was expected in <%.40s>", ename(e),
		     name, ename(parent));
		return NULL;
	}
	return e;
}

/* Nothing but blanks, comments and PIs may follow `after` in its parent. */
static int
expect_end(struct dctx *d, xmlNodePtr after, xmlNodePtr parent)
{
	xmlNodePtr e = skip_to_elem(d, after ? after->next : NULL, parent);

	if (d->rc != 0)
		return -1;
	if (e != NULL) {
		fail(d, XVAL_EBAD, "unexpected <%.40s> inside <%.40s>", ename(e), ename(parent));
		return -1;
	}
	return 0;
}

/* The character data of element e, which must have no element children;
** a malloc'ed string. */
static char *
elem_text(struct dctx *d, xmlNodePtr e)
{
	struct sbuf b = {0};
	xmlNodePtr n;

	for (n = e->children; n != NULL; n = n->next) {
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			if (n->content != NULL)
				sb_puts(&b, (const char *)n->content);
		} else if (n->type != XML_COMMENT_NODE && n->type != XML_PI_NODE) {
			fail(d, XVAL_EBAD, "<%.40s> must contain only text", ename(e));
			xfree(b.p);
			return NULL;
		}
	}
	return sb_finish(&b, NULL);
}

/* elem_text() without surrounding blanks, in place. */
static char *
elem_text_trimmed(struct dctx *d, xmlNodePtr e)
{
	char *s = elem_text(d, e);
	size_t a = 0, n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	while (n > 0 && strchr(" \t\n\r", s[n - 1]) != NULL)
		s[--n] = '\0';
	while (s[a] != '\0' && strchr(" \t\n\r", s[a]) != NULL)
		a++;
	memmove(s, s + a, n - a + 1);
	return s;
}

static int
parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long ll;

	if (!((*s >= '0' && *s <= '9') || ((*s == '-' || *s == '+') && s[1] >= '0' && s[1] <= '9')))
		return -1;
	errno = 0;
	ll = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = ll;
	return 0;
}

/* Decimal floating point, or what %.16g writes for non-finite values; never
** hexadecimal.  The C locale is assumed (the daemon never calls setlocale). */
static int
parse_double(const char *s, double *out)
{
	const char *p = s;
	char *end;
	int ndig = 0;

	if (*p == '+' || *p == '-')
		p++;
	if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "nan") == 0 ||
	    strcasecmp(p, "infinity") == 0)
		goto convert;
	while (isdigit((unsigned char)*p))
		p++, ndig++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			ndig++;
	if (ndig == 0)
		return -1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p != '\0')
		return -1;
convert:
	*out = strtod(s, &end);
	return *end == '\0' ? 0 : -1;
}

static struct xval *decode_value(struct dctx *d, xmlNodePtr ve, int depth);

static struct xval *
decode_array(struct dctx *d, xmlNodePtr ae, int depth)
{
	xmlNodePtr data = expect_elem(d, ae->children, ae, "data");
	struct xval *arr;
	xmlNodePtr n;

	if (data == NULL || expect_end(d, data, ae) < 0)
		return NULL;
	arr = xval_new_array();
	for (n = skip_to_elem(d, data->children, data); n != NULL;
	     n = skip_to_elem(d, n->next, data)) {
		struct xval *item;

		if (strcmp(ename(n), "value") != 0) {
			fail(d, XVAL_EBAD, "<%.40s> found where <value> was expected in <data>",
			     ename(n));
			goto fail;
		}
		item = decode_value(d, n, depth + 1);
		if (item == NULL)
			goto fail;
		xval_array_append(arr, item);
	}
	if (d->rc != 0)
		goto fail;
	return arr;
fail:
	xval_free(arr);
	return NULL;
}

static struct xval *
decode_struct(struct dctx *d, xmlNodePtr se, int depth)
{
	struct xval *st = xval_new_struct();
	xmlNodePtr m;

	for (m = skip_to_elem(d, se->children, se); m != NULL; m = skip_to_elem(d, m->next, se)) {
		xmlNodePtr name, value;
		struct xval *item;
		char *s;

		if (strcmp(ename(m), "member") != 0) {
			fail(d, XVAL_EBAD, "<%.40s> found where <member> was expected in <struct>",
			     ename(m));
			goto fail;
		}
		name = expect_elem(d, m->children, m, "name");
		if (name == NULL)
			goto fail;
		value = expect_elem(d, name->next, m, "value");
		if (value == NULL || expect_end(d, value, m) < 0)
			goto fail;
		s = elem_text(d, name);
		if (s == NULL)
			goto fail;
		item = decode_value(d, value, depth + 1);
		if (item == NULL) {
			xfree(s);
			goto fail;
		}
		xval_struct_add(st, s, item);
		xfree(s);
	}
	if (d->rc != 0)
		goto fail;
	return st;
fail:
	xval_free(st);
	return NULL;
}

/* A scalar typed element: its text, trimmed, converted. */
static struct xval *
decode_scalar(struct dctx *d, xmlNodePtr te)
{
	const char *t = ename(te);
	struct xval *v = NULL;
	int64_t i;
	double x;
	char *s;

	if (strcmp(t, "string") == 0) {
		s = elem_text(d, te);
		if (s != NULL)
			v = xval_new_string(s);
		xfree(s);
		return v;
	}
	s = elem_text_trimmed(d, te);
	if (s == NULL)
		return NULL;
	if (strcmp(t, "int") == 0 || strcmp(t, "i4") == 0 || strcmp(t, "i8") == 0) {
		if (parse_int64(s, &i) == 0)
			v = xval_new_int(i);
		else
			fail(d, XVAL_EBAD, "<%s> does not hold a 64-bit integer", t);
	} else if (strcmp(t, "boolean") == 0) {
		if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0)
			v = xval_new_bool(s[0] == '1');
		else
			fail(d, XVAL_EBAD, "<boolean> must hold 0 or 1");
	} else if (strcmp(t, "double") == 0) {
		if (parse_double(s, &x) == 0)
			v = xval_new_double(x);
		else
			fail(d, XVAL_EBAD, "<double> does not hold a decimal number");
	} else if (strcmp(t, "dateTime.iso8601") == 0) {
		if (xval_datetime_valid(s))
			v = xval_new_datetime(s);
		else
			fail(d, XVAL_EBAD,
			     "<dateTime.iso8601> is not of the form YYYYMMDDTHH:MM:SSZ");
	} else if (strcmp(t, "nil") == 0) {
		if (s[0] == '\0')
			v = xval_new_nil();
		else
			fail(d, XVAL_EBAD, "<nil/> must be empty");
	} else {
		fail(d, XVAL_EBAD, "unsupported XML-RPC value type <%.40s>", t);
	}
	xfree(s);
	return v;
}

/* ve is a <value> element at nesting depth `depth` (1 for a param). */
static struct xval *
decode_value(struct dctx *d, xmlNodePtr ve, int depth)
{
	xmlNodePtr te;
	struct xval *v;
	char *s;

	if (depth > XVAL_MAX_DEPTH) {
		fail(d, XVAL_ELIMIT, "values are nested deeper than %d levels", XVAL_MAX_DEPTH);
		return NULL;
	}
	if (++d->nodes > XVAL_MAX_NODES) {
		fail(d, XVAL_ELIMIT, "the body holds more than %u values", XVAL_MAX_NODES);
		return NULL;
	}
	for (te = ve->children; te != NULL && te->type != XML_ELEMENT_NODE; te = te->next)
		;
	if (te == NULL) {
		/* Untyped: a string, kept exactly, blanks included. */
		s = elem_text(d, ve);
		if (s == NULL)
			return NULL;
		v = xval_new_string(s);
		xfree(s);
		return v;
	}
	te = skip_to_elem(d, ve->children, ve);
	if (te == NULL || expect_end(d, te, ve) < 0)
		return NULL;
	if (strcmp(ename(te), "array") == 0)
		return decode_array(d, te, depth);
	if (strcmp(ename(te), "struct") == 0)
		return decode_struct(d, te, depth);
	return decode_scalar(d, te);
}

static void
fail_root(struct dctx *d, xmlNodePtr root, const char *want)
{
	if (root == NULL)
		fail(d, XVAL_EBAD, "the XML document has no root element");
	else
		fail(d, XVAL_EBAD, "the root element is <%.40s>, not <%s>", ename(root), want);
}

void
xmlrpc_call_clear(struct xmlrpc_call *call)
{
	if (call == NULL)
		return;
	xfree(call->method);
	xval_free(call->params);
	call->method = NULL;
	call->params = NULL;
}

int
xmlrpc_decode_call(const char *body, size_t len, size_t max_body, struct xmlrpc_call *call,
                   char *err, size_t errsz)
{
	struct dctx d = {.err = err, .errsz = errsz};
	xmlDocPtr doc;
	xmlNodePtr root, name, params, p;
	struct xval *v;
	size_t i;

	call->method = NULL;
	call->params = NULL;
	doc = parse_body(&d, body, len, max_body);
	if (doc == NULL)
		goto fail;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || strcmp(ename(root), "methodCall") != 0) {
		fail_root(&d, root, "methodCall");
		goto fail;
	}
	name = skip_to_elem(&d, root->children, root);
	if (d.rc != 0)
		goto fail;
	if (name == NULL || strcmp(ename(name), "methodName") != 0) {
		fail(&d, XVAL_EBAD, "<methodCall> has no <methodName>");
		goto fail;
	}
	call->method = elem_text_trimmed(&d, name);
	if (call->method == NULL)
		goto fail;
	if (call->method[0] == '\0') {
		fail(&d, XVAL_EBAD, "<methodName> is empty");
		goto fail;
	}
	for (i = 0; call->method[i] != '\0'; i++)
		if ((unsigned char)call->method[i] < 0x20) {
			fail(&d, XVAL_EBAD, "<methodName> holds a control character");
			goto fail;
		}
	call->params = xval_new_array();
	params = skip_to_elem(&d, name->next, root);
	if (d.rc != 0)
		goto fail;
	if (params == NULL)
		goto done; /* <params> is optional in XML-RPC */
	if (strcmp(ename(params), "params") != 0) {
		fail(&d, XVAL_EBAD, "<%.40s> found where <params> was expected in <methodCall>",
		     ename(params));
		goto fail;
	}
	if (expect_end(&d, params, root) < 0)
		goto fail;
	for (p = skip_to_elem(&d, params->children, params); p != NULL;
	     p = skip_to_elem(&d, p->next, params)) {
		xmlNodePtr ve;

		if (strcmp(ename(p), "param") != 0) {
			fail(&d, XVAL_EBAD, "<%.40s> found where <param> was expected in <params>",
			     ename(p));
			goto fail;
		}
		ve = expect_elem(&d, p->children, p, "value");
		if (ve == NULL || expect_end(&d, ve, p) < 0)
			goto fail;
		v = decode_value(&d, ve, 1);
		if (v == NULL)
			goto fail;
		xval_array_append(call->params, v);
	}
	if (d.rc != 0)
		goto fail;
done:
	xmlFreeDoc(doc);
	return 0;
fail:
	if (NEVER(d.rc == 0))
		fail(&d, XVAL_EBAD, "the XML-RPC call is malformed");
	xmlFreeDoc(doc);
	xmlrpc_call_clear(call);
	return d.rc;
}

/* A <fault> holds a struct {faultCode, faultString}. */
static int
decode_fault(struct dctx *d, xmlNodePtr fe, struct xval_reply *reply)
{
	xmlNodePtr ve = expect_elem(d, fe->children, fe, "value");
	struct xval *v, *code, *msg, *desc;
	char num[32];

	if (ve == NULL || expect_end(d, ve, fe) < 0)
		return -1;
	v = decode_value(d, ve, 1);
	if (v == NULL)
		return -1;
	code = xval_struct_get(v, "faultCode");
	msg = xval_struct_get(v, "faultString");
	if (code == NULL || msg == NULL || (code->type != XVAL_INT && code->type != XVAL_STRING) ||
	    msg->type != XVAL_STRING) {
		fail(d, XVAL_EBAD, "<fault> is not a struct of faultCode and faultString");
		xval_free(v);
		return -1;
	}
	desc = xval_new_array();
	xval_array_append(desc, xval_new_string("FAULT"));
	if (code->type == XVAL_INT) {
		snprintf(num, sizeof(num), "%" PRId64, code->u.i);
		xval_array_append(desc, xval_new_string(num));
	} else {
		xval_array_append(desc, xval_new_string(code->u.s));
	}
	xval_array_append(desc, xval_new_string(msg->u.s));
	xval_free(v);
	reply->kind = XVAL_REPLY_FAILURE;
	reply->value = desc;
	return 0;
}

/* Status/Value unwrapping as ocaml-rpc's response_of_success. */
static void
unwrap_reply(struct xval *v, struct xval_reply *reply)
{
	struct xval *status = xval_struct_get(v, "Status");
	const char *key = NULL;
	struct xval *inner;

	reply->kind = XVAL_REPLY_BARE;
	reply->value = v;
	if (status == NULL || status->type != XVAL_STRING)
		return;
	if (strcmp(status->u.s, "Success") == 0)
		key = "Value";
	else if (strcmp(status->u.s, "Failure") == 0)
		key = "ErrorDescription";
	else
		return;
	inner = xval_struct_get(v, key);
	if (inner == NULL)
		return;
	reply->kind = key[0] == 'V' ? XVAL_REPLY_SUCCESS : XVAL_REPLY_FAILURE;
	reply->value = xval_copy(inner);
	xval_free(v);
}

int
xmlrpc_decode_response(const char *body, size_t len, size_t max_body, struct xval_reply *reply,
                       char *err, size_t errsz)
{
	struct dctx d = {.err = err, .errsz = errsz};
	xmlDocPtr doc;
	xmlNodePtr root, first, param, ve;
	struct xval *v;

	reply->kind = XVAL_REPLY_BARE;
	reply->value = NULL;
	doc = parse_body(&d, body, len, max_body);
	if (doc == NULL)
		goto fail;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || strcmp(ename(root), "methodResponse") != 0) {
		fail_root(&d, root, "methodResponse");
		goto fail;
	}
	first = skip_to_elem(&d, root->children, root);
	if (d.rc != 0)
		goto fail;
	if (first == NULL) {
		fail(&d, XVAL_EBAD, "<methodResponse> has neither <params> nor <fault>");
		goto fail;
	}
	if (expect_end(&d, first, root) < 0)
		goto fail;
	if (strcmp(ename(first), "fault") == 0) {
		if (decode_fault(&d, first, reply) < 0)
			goto fail;
		goto done;
	}
	if (strcmp(ename(first), "params") != 0) {
		fail(&d, XVAL_EBAD, "<%.40s> found where <params> or <fault> was expected",
		     ename(first));
		goto fail;
	}
	param = expect_elem(&d, first->children, first, "param");
	if (param == NULL || expect_end(&d, param, first) < 0)
		goto fail;
	ve = expect_elem(&d, param->children, param, "value");
	if (ve == NULL || expect_end(&d, ve, param) < 0)
		goto fail;
	v = decode_value(&d, ve, 1);
	if (v == NULL)
		goto fail;
	unwrap_reply(v, reply);
done:
	xmlFreeDoc(doc);
	return 0;
fail:
	if (d.rc == 0)
		fail(&d, XVAL_EBAD, "the XML-RPC response is malformed");
	xmlFreeDoc(doc);
	xval_reply_clear(reply);
	return d.rc;
}
