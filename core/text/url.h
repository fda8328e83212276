/* core/text/url.h: joining a base URL and a path.
 *
 * Every URL the library or a gateway plugin sends to is a configured base URL plus an
 * operation's path ("/chat/completions", "/messages"). A base URL may carry a query string
 * that the server needs on every request (Azure OpenAI's "?api-version=2024-10-21"): the path
 * goes after the base's path and before its query and fragment, never after them.
 *
 * Thread safety: pure functions.
 */
#ifndef HVB_TEXT_URL_H
#define HVB_TEXT_URL_H

/* `base` + `path`, the query string and fragment of `base` moved after the path:
 *   https://h/openai/deployments/d?api-version=1 + /chat/completions
 *   -> https://h/openai/deployments/d/chat/completions?api-version=1
 * One slash between the two when the base's path ends with one and `path` starts with one.
 * New string (g_free). */
char *hvb__url_join(const char *base, const char *path);

#endif
