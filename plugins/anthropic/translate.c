/* plugins/anthropic/translate.c: canonical (OpenAI chat) <-> Anthropic Messages API.
 * The rules are listed in translate.h. Everything JSON is built with json-c; failures are
 * reported through hvb_gateway_fail and never abort. */
#include "translate.h"

#include <heavenbase/gateway.h>
#include <json-c/printbuf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small JSON helpers ---- */

/* Member `key` unless absent or JSON null (borrowed). */
static json_object *member(json_object *obj, const char *key) {
  json_object *v = NULL;
  if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v))
    return NULL;
  return json_object_is_type(v, json_type_null) ? NULL : v;
}

/* String member `key`, NULL when absent or not a string (borrowed). */
static const char *str_member(json_object *obj, const char *key) {
  json_object *v = member(obj, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Length of an array, 0 for anything else (json-c asserts on a non-array). */
static size_t alen(json_object *v) {
  return json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

/* Number of members of an object, 0 for anything else. */
static size_t olen(json_object *v) {
  return json_object_is_type(v, json_type_object) ? (size_t)json_object_object_length(v) : 0;
}

static bool str_eq(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

static bool is_number(json_object *v) {
  return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* An integer value: a JSON integer, or a double without fraction (JavaScript clients send
 * 1024.0). */
static bool int_value(json_object *v, int64_t *out) {
  if (json_object_is_type(v, json_type_int)) {
    *out = json_object_get_int64(v);
    return true;
  }
  if (json_object_is_type(v, json_type_double)) {
    double d = json_object_get_double(v);
    if (d >= -9e15 && d <= 9e15 && d == (double)(int64_t)d) {
      *out = (int64_t)d;
      return true;
    }
  }
  return false;
}

/* A new object with the members of `obj` (values shared, not copied): something to extend
 * without touching the borrowed canonical request. */
static json_object *shallow_copy(json_object *obj) {
  json_object *out = json_object_new_object();
  if (json_object_is_type(obj, json_type_object)) {
    json_object_object_foreach(obj, k, v) json_object_object_add(out, k, json_object_get(v));
  }
  return out;
}

/* Parse `len` bytes as exactly one JSON value (trailing whitespace allowed, anything else is
 * not: json_tokener_parse would ignore it). New reference, NULL when not. */
static json_object *parse_whole(const char *text, size_t len) {
  if (len > INT32_MAX) return NULL;
  json_tokener *tok = json_tokener_new();
  if (!tok) return NULL;
  json_object *v = json_tokener_parse_ex(tok, text, (int)len);
  bool ok = json_tokener_get_error(tok) == json_tokener_success;
  size_t used = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  while (used < len && (text[used] == ' ' || text[used] == '\t' || text[used] == '\r' ||
                        text[used] == '\n'))
    used++;
  if (!v || !ok || used != len) {
    json_object_put(v);
    return NULL;
  }
  return v;
}

/* Add `arr` (taken) as obj[key] when it has elements; an empty one is dropped (the API refuses
 * empty block lists and stop lists). */
static void add_nonempty(json_object *obj, const char *key, json_object *arr) {
  if (alen(arr))
    json_object_object_add(obj, key, arr);
  else
    json_object_put(arr);
}

static void add_str(json_object *obj, const char *key, const char *value) {
  json_object_object_add(obj, key, json_object_new_string(value));
}

static const char *compact(json_object *v) {
  return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Fill err for an Anthropic error object ({"type", "message"}) found in `where`: HVB_PROVIDER
 * with the provider's message, and its type in err->type. Returns false. */
static bool provider_error(json_object *error, const char *where, hvb_error *err) {
  const char *type = str_member(error, "type");
  const char *msg = str_member(error, "message");
  return hvb_gateway_fail_http(err, HVB_PROVIDER, 0, type,
                               "the provider reported an error in %s: %s (%s)", where,
                               msg ? msg : "no message given", type ? type : "no type given");
}

/* ============================================================================================
 * Request
 * ========================================================================================== */

/* Request arguments this file reads itself (response_format: structured.c). */
static const char *const handled_keys[] = {
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k",
    "stop", "stop_sequences", "stream", "user", "metadata", "tools", "tool_choice",
    "parallel_tool_calls", "reasoning_effort", "think", "thinking", "system", "service_tier",
    "stream_options", "response_format", NULL};

/* Anthropic's own top-level keys with no OpenAI counterpart: a request configured for this
 * gateway may set them, and they go out as given. */
static const char *const native_keys[] = {"cache_control", "container", "inference_geo",
                                          "output_config", NULL};

static bool in_list(const char *const *list, const char *key) {
  for (size_t i = 0; list[i]; i++)
    if (strcmp(list[i], key) == 0) return true;
  return false;
}

static void note_dropped(json_object *dropped, const char *what) {
  if (json_object_is_type(dropped, json_type_array))
    json_object_array_add(dropped, json_object_new_string(what));
}

/* A tool-call id in Anthropic's alphabet [a-zA-Z0-9_-] (other bytes become '_'): ids from
 * other providers ("functions.get_weather:0") would otherwise be refused. New string object,
 * NULL for an empty id. */
static json_object *anthropic_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0) return NULL;
  char *s = strdup(id);
  if (!s) return NULL;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) s[i] = '_';
  }
  json_object *v = json_object_new_string(s);
  free(s);
  return v;
}

/* An image_url URL -> image block (new reference), NULL with err set. */
static json_object *image_block(const char *url, const char *where, hvb_error *err) {
  json_object *source = json_object_new_object();
  if (strncasecmp(url, "data:", 5) == 0) {
    static const char *const media_types[] = {"image/jpeg", "image/png", "image/gif",
                                              "image/webp", NULL};
    const char *comma = strchr(url, ',');
    const char *meta = url + 5;
    size_t meta_len = comma ? (size_t)(comma - meta) : 0;
    size_t media_len = strcspn(meta, ";,");
    bool base64 = comma && meta_len >= 7 && strncasecmp(comma - 7, ";base64", 7) == 0;
    if (!base64 || !comma[1]) {
      json_object_put(source);
      hvb_gateway_fail(err, HVB_EINVAL,
                       "%s: a data: URL image must be base64 (data:image/png;base64,...)", where);
      return NULL;
    }
    const char *media = NULL;
    for (size_t i = 0; media_types[i]; i++)
      if (media_len == strlen(media_types[i]) && strncasecmp(meta, media_types[i], media_len) == 0)
        media = media_types[i];
    if (!media && media_len == 9 && strncasecmp(meta, "image/jpg", 9) == 0) media = "image/jpeg";
    if (!media) {
      json_object_put(source);
      hvb_gateway_fail(err, HVB_EINVAL,
                       "%s: image type '%.*s' is not supported by Anthropic (jpeg, png, gif, "
                       "webp are)",
                       where, (int)(media_len > 64 ? 64 : media_len), meta);
      return NULL;
    }
    add_str(source, "type", "base64");
    add_str(source, "media_type", media);
    add_str(source, "data", comma + 1);
  } else if (strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0) {
    add_str(source, "type", "url");
    add_str(source, "url", url);
  } else {
    json_object_put(source);
    hvb_gateway_fail(err, HVB_EINVAL,
                     "%s: an image URL must be a data: URL or an http(s) URL", where);
    return NULL;
  }
  json_object *block = json_object_new_object();
  add_str(block, "type", "image");
  json_object_object_add(block, "source", source);
  return block;
}

/* A text block (new reference), or NULL for empty text (the API refuses empty text blocks).
 * `cache_control` (borrowed, may be NULL) is kept: prompt caching is set per block. */
static json_object *text_block(const char *text, json_object *cache_control) {
  if (!text || !*text) return NULL;
  json_object *block = json_object_new_object();
  add_str(block, "type", "text");
  add_str(block, "text", text);
  if (json_object_is_type(cache_control, json_type_object))
    json_object_object_add(block, "cache_control", json_object_get(cache_control));
  return block;
}

/* Block types of Anthropic's own that a canonical message may carry through unchanged. */
static const char *const native_block_types[] = {"image", "document", "thinking",
                                                 "redacted_thinking", "search_result", NULL};

/* Append the blocks of a message's content (string, parts array or null) to `blocks`.
 * `images`: whether image parts are allowed (not in assistant or system turns). */
static bool content_blocks(json_object *content, const char *where, bool images,
                           json_object *blocks, hvb_error *err) {
  if (!content) return true;
  if (json_object_is_type(content, json_type_string)) {
    json_object *b = text_block(json_object_get_string(content), NULL);
    if (b) json_object_array_add(blocks, b);
    return true;
  }
  if (!json_object_is_type(content, json_type_array))
    return hvb_gateway_fail(err, HVB_EINVAL, "%s: content must be a string or an array of parts",
                            where);
  for (size_t i = 0; i < alen(content); i++) {
    json_object *part = json_object_array_get_idx(content, i);
    const char *type = str_member(part, "type");
    char here[160];
    snprintf(here, sizeof here, "%s.content[%zu]", where, i);
    if (!type)
      return hvb_gateway_fail(err, HVB_EINVAL, "%s: a content part needs a string 'type'", here);
    if (strcmp(type, "text") == 0) {
      const char *text = str_member(part, "text");
      if (!text)
        return hvb_gateway_fail(err, HVB_EINVAL, "%s: a text part needs a string 'text'", here);
      json_object *b = text_block(text, member(part, "cache_control"));
      if (b) json_object_array_add(blocks, b);
    } else if (strcmp(type, "image_url") == 0) {
      if (!images)
        return hvb_gateway_fail(err, HVB_EINVAL, "%s: only user and tool messages may hold images",
                                here);
      json_object *iu = member(part, "image_url");
      const char *url = json_object_is_type(iu, json_type_string) ? json_object_get_string(iu)
                                                                  : str_member(iu, "url");
      if (!url)
        return hvb_gateway_fail(err, HVB_EINVAL, "%s: an image_url part needs image_url.url",
                                here);
      json_object *b = image_block(url, here, err);
      if (!b) return false;
      json_object_array_add(blocks, b);
    } else if (in_list(native_block_types, type)) {
      json_object_array_add(blocks, json_object_get(part));
    } else {
      return hvb_gateway_fail(err, HVB_EINVAL,
                              "%s: content part type '%s' has no Anthropic equivalent", here, type);
    }
  }
  return true;
}

/* Append `blocks` (taken) as a turn of `role`, merged into the previous turn when it has the
 * same role: Anthropic requires user and assistant turns to alternate. An empty turn is
 * dropped (the API refuses empty content). */
static void push_turn(json_object *msgs, const char *role, json_object *blocks) {
  size_t n = alen(blocks);
  if (n == 0) {
    json_object_put(blocks);
    return;
  }
  size_t count = alen(msgs);
  json_object *last = count ? json_object_array_get_idx(msgs, count - 1) : NULL;
  if (last && str_eq(str_member(last, "role"), role)) {
    json_object *content = member(last, "content");
    for (size_t i = 0; i < n; i++)
      json_object_array_add(content, json_object_get(json_object_array_get_idx(blocks, i)));
    json_object_put(blocks);
    return;
  }
  json_object *msg = json_object_new_object();
  add_str(msg, "role", role);
  json_object_object_add(msg, "content", blocks);
  json_object_array_add(msgs, msg);
}

/* An assistant tool call -> tool_use block (new reference), NULL with err set. */
static json_object *tool_use_block(json_object *call, const char *where, hvb_error *err) {
  const char *id = str_member(call, "id");
  json_object *fn = member(call, "function");
  const char *name = str_member(fn, "name");
  json_object *jid = id ? anthropic_id(id) : NULL;
  if (!jid || !name || !*name) {
    json_object_put(jid);
    hvb_gateway_fail(err, HVB_EINVAL, "%s: a tool call needs an 'id' and a 'function.name'",
                     where);
    return NULL;
  }
  json_object *args = member(fn, "arguments");
  json_object *input = NULL;
  if (json_object_is_type(args, json_type_object)) {
    input = json_object_get(args); /* some clients give the object itself */
  } else if (!args || (json_object_is_type(args, json_type_string) &&
                       strspn(json_object_get_string(args), " \t\r\n") ==
                           strlen(json_object_get_string(args)))) {
    input = json_object_new_object();
  } else if (json_object_is_type(args, json_type_string)) {
    input = parse_whole(json_object_get_string(args), (size_t)json_object_get_string_len(args));
    if (input && !json_object_is_type(input, json_type_object)) {
      json_object_put(input);
      input = NULL;
    }
  }
  if (!input) {
    json_object_put(jid);
    hvb_gateway_fail(err, HVB_EINVAL,
                     "%s: the arguments of tool call '%s' (%s) are not a JSON object", where, id,
                     name);
    return NULL;
  }
  json_object *block = json_object_new_object();
  add_str(block, "type", "tool_use");
  json_object_object_add(block, "id", jid);
  add_str(block, "name", name);
  json_object_object_add(block, "input", input);
  return block;
}

/* A "tool" message -> tool_result block (new reference), NULL with err set. */
static json_object *tool_result_block(json_object *msg, const char *where, hvb_error *err) {
  const char *id = str_member(msg, "tool_call_id");
  json_object *jid = id ? anthropic_id(id) : NULL;
  if (!jid) {
    hvb_gateway_fail(err, HVB_EINVAL, "%s: a tool message needs a 'tool_call_id'", where);
    return NULL;
  }
  json_object *block = json_object_new_object();
  add_str(block, "type", "tool_result");
  json_object_object_add(block, "tool_use_id", jid);
  json_object *content = member(msg, "content");
  if (json_object_is_type(content, json_type_string)) {
    if (*json_object_get_string(content))
      json_object_object_add(block, "content", json_object_get(content));
  } else if (content) {
    json_object *parts = json_object_new_array();
    if (!content_blocks(content, where, true, parts, err)) {
      json_object_put(parts);
      json_object_put(block);
      return NULL;
    }
    add_nonempty(block, "content", parts);
  }
  return block;
}

/* The text blocks of a system message (string or text parts) appended to `system`. */
static bool system_blocks(json_object *content, const char *where, json_object *system,
                          hvb_error *err) {
  json_object *blocks = json_object_new_array();
  bool ok = content_blocks(content, where, false, blocks, err);
  for (size_t i = 0; ok && i < alen(blocks); i++) {
    json_object *b = json_object_array_get_idx(blocks, i);
    if (!str_eq(str_member(b, "type"), "text"))
      ok = hvb_gateway_fail(err, HVB_EINVAL, "%s: a system message may only hold text", where);
    else
      json_object_array_add(system, json_object_get(b));
  }
  json_object_put(blocks);
  return ok;
}

/* The system prompt from its text blocks: one string, the texts joined with "\n\n", unless a
 * block asks for prompt caching (cache_control), which only the block form can carry. New
 * reference, NULL when there is no system text. */
static json_object *system_value(json_object *system, hvb_error *err) {
  size_t n = alen(system);
  for (size_t i = 0; i < n; i++)
    if (member(json_object_array_get_idx(system, i), "cache_control"))
      return json_object_get(system);
  if (n == 0) return NULL;
  struct printbuf *pb = printbuf_new();
  if (!pb) {
    hvb_gateway_fail(err, HVB_ENOMEM, "out of memory joining the system messages");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *text = member(json_object_array_get_idx(system, i), "text");
    if (i) printbuf_memappend(pb, "\n\n", 2);
    printbuf_memappend(pb, json_object_get_string(text), json_object_get_string_len(text));
  }
  json_object *v = json_object_new_string_len(pb->buf, printbuf_length(pb));
  printbuf_free(pb);
  return v;
}

/* Single plain text blocks become string content: the common case reads as it does in
 * Anthropic's own examples. */
static void collapse_text_turns(json_object *msgs) {
  for (size_t i = 0; i < alen(msgs); i++) {
    json_object *msg = json_object_array_get_idx(msgs, i);
    json_object *content = member(msg, "content");
    if (alen(content) != 1) continue;
    json_object *b = json_object_array_get_idx(content, 0);
    if (olen(b) != 2 || !str_eq(str_member(b, "type"), "text")) continue;
    json_object_object_add(msg, "content", json_object_get(member(b, "text")));
  }
}

/* messages (and a top-level "system" argument, Anthropic's own, which comes before the
 * hoisted system messages) -> body.messages and body.system. */
static bool translate_messages(json_object *messages, json_object *system_arg, json_object *body,
                               json_object *dropped, hvb_error *err) {
  if (!json_object_is_type(messages, json_type_array))
    return hvb_gateway_fail(err, HVB_EINVAL, "the request has no 'messages' array");
  json_object *system = json_object_new_array();
  json_object *msgs = json_object_new_array();
  bool ok = system_blocks(system_arg, "system", system, err);

  for (size_t i = 0; ok && i < alen(messages); i++) {
    json_object *msg = json_object_array_get_idx(messages, i);
    const char *role = str_member(msg, "role");
    json_object *content = member(msg, "content");
    char where[64];
    snprintf(where, sizeof where, "messages[%zu]", i);
    if (!role) {
      ok = hvb_gateway_fail(err, HVB_EINVAL, "%s: a message needs a string 'role'", where);
    } else if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
      ok = system_blocks(content, where, system, err);
    } else if (strcmp(role, "user") == 0) {
      json_object *blocks = json_object_new_array();
      ok = content_blocks(content, where, true, blocks, err);
      push_turn(msgs, "user", blocks);
    } else if (strcmp(role, "assistant") == 0) {
      json_object *blocks = json_object_new_array();
      size_t kept = anthropic_thinking_blocks(msg, blocks);
      ok = content_blocks(content, where, false, blocks, err);
      json_object *calls = member(msg, "tool_calls");
      for (size_t j = 0; ok && j < alen(calls); j++) {
        char here[128];
        snprintf(here, sizeof here, "%s.tool_calls[%zu]", where, j);
        json_object *b = tool_use_block(json_object_array_get_idx(calls, j), here, err);
        if (b)
          json_object_array_add(blocks, b);
        else
          ok = false;
      }
      /* Anthropic accepts earlier thinking only with the signature it issued: reasoning
       * without its thinking_blocks (another provider's, or text) stays out of the request. */
      if (!kept && member(msg, "reasoning_content")) {
        char what[96];
        snprintf(what, sizeof what, "%s.reasoning_content", where);
        note_dropped(dropped, what);
      }
      push_turn(msgs, "assistant", blocks);
    } else if (strcmp(role, "tool") == 0) {
      json_object *b = tool_result_block(msg, where, err);
      if (b) {
        json_object *blocks = json_object_new_array();
        json_object_array_add(blocks, b);
        push_turn(msgs, "user", blocks);
      } else {
        ok = false;
      }
    } else {
      ok = hvb_gateway_fail(err, HVB_EINVAL,
                            "%s: role '%s' has no Anthropic equivalent (system, developer, user, "
                            "assistant and tool do)",
                            where, role);
    }
  }
  if (ok && alen(msgs) == 0)
    ok = hvb_gateway_fail(err, HVB_EINVAL,
                          "the request has no user or assistant message with content "
                          "(Anthropic needs at least one)");
  if (ok) {
    collapse_text_turns(msgs);
    json_object_object_add(body, "messages", json_object_get(msgs));
    json_object *sys = system_value(system, err);
    if (sys)
      json_object_object_add(body, "system", sys);
    else if (alen(system))
      ok = false;
  }
  json_object_put(msgs);
  json_object_put(system);
  return ok;
}

/* tools -> body.tools. */
static bool translate_tools(json_object *tools, json_object *body, hvb_error *err) {
  if (!json_object_is_type(tools, json_type_array))
    return hvb_gateway_fail(err, HVB_EINVAL, "'tools' must be an array");
  json_object *out = json_object_new_array();
  for (size_t i = 0; i < alen(tools); i++) {
    json_object *tool = json_object_array_get_idx(tools, i);
    json_object *fn = member(tool, "function");
    if (!fn && str_member(tool, "name")) { /* already Anthropic's shape */
      json_object_array_add(out, json_object_get(tool));
      continue;
    }
    const char *type = str_member(tool, "type");
    const char *name = str_member(fn, "name");
    if ((type && strcmp(type, "function") != 0) || !name || !*name) {
      json_object_put(out);
      return hvb_gateway_fail(err, HVB_EINVAL,
                              "tools[%zu]: only function tools with a 'function.name' translate "
                              "to Anthropic",
                              i);
    }
    json_object *params = member(fn, "parameters");
    if (params && !json_object_is_type(params, json_type_object)) {
      json_object_put(out);
      return hvb_gateway_fail(err, HVB_EINVAL, "tools[%zu] (%s): parameters must be an object",
                              i, name);
    }
    json_object *t = json_object_new_object();
    add_str(t, "name", name);
    const char *desc = str_member(fn, "description");
    if (desc && *desc) add_str(t, "description", desc);
    json_object *schema = shallow_copy(params);
    /* Anthropic requires an object schema; OpenAI lets a tool without arguments omit it. */
    if (!member(schema, "type")) add_str(schema, "type", "object");
    if (!member(schema, "properties") && str_eq(str_member(schema, "type"), "object"))
      json_object_object_add(schema, "properties", json_object_new_object());
    json_object_object_add(t, "input_schema", schema);
    json_object_array_add(out, t);
  }
  json_object_object_add(body, "tools", out);
  return true;
}

/* tool_choice (+ parallel_tool_calls) -> body.tool_choice. */
static bool translate_tool_choice(json_object *choice, json_object *parallel, json_object *body,
                                  hvb_error *err) {
  json_object *out = NULL;
  if (json_object_is_type(choice, json_type_string)) {
    const char *c = json_object_get_string(choice);
    const char *type = strcmp(c, "auto") == 0       ? "auto"
                       : strcmp(c, "required") == 0 ? "any"
                       : strcmp(c, "any") == 0      ? "any"
                       : strcmp(c, "none") == 0     ? "none"
                                                    : NULL;
    if (!type)
      return hvb_gateway_fail(err, HVB_EINVAL,
                              "tool_choice '%s' is not one of auto, required, none", c);
    out = json_object_new_object();
    add_str(out, "type", type);
  } else if (json_object_is_type(choice, json_type_object)) {
    const char *type = str_member(choice, "type");
    const char *fname = str_member(member(choice, "function"), "name");
    if (str_eq(type, "function") && fname) {
      out = json_object_new_object();
      add_str(out, "type", "tool");
      add_str(out, "name", fname);
    } else if (str_eq(type, "auto") || str_eq(type, "any") || str_eq(type, "none") ||
               (str_eq(type, "tool") && str_member(choice, "name"))) {
      out = shallow_copy(choice); /* Anthropic's own; a copy, since it may gain a flag below */
    } else {
      return hvb_gateway_fail(err, HVB_EINVAL,
                              "tool_choice object must be {\"type\":\"function\",\"function\":"
                              "{\"name\":...}}");
    }
  } else if (choice) {
    return hvb_gateway_fail(err, HVB_EINVAL, "tool_choice must be a string or an object");
  }
  if (json_object_is_type(parallel, json_type_boolean) && !json_object_get_boolean(parallel)) {
    if (!out) {
      out = json_object_new_object();
      add_str(out, "type", "auto");
    }
    /* "none" takes no flag: no tool call at all is as serial as it gets. */
    if (!str_eq(str_member(out, "type"), "none"))
      json_object_object_add(out, "disable_parallel_tool_use", json_object_new_boolean(1));
  }
  if (out) json_object_object_add(body, "tool_choice", out);
  return true;
}

/* ---- thinking ---- */

typedef struct thinking {
  bool on;
  int64_t budget;      /* tokens; 0 for adaptive thinking or none */
  json_object *native; /* an Anthropic thinking object given as is (borrowed), or NULL */
} thinking;

#define THINKING_MIN_BUDGET 1024
/* Token counts above this are mistakes (no model comes near), and it keeps max_tokens +
 * budget far from overflowing. */
#define TOKENS_MAX INT32_MAX

static bool effort_budget(const char *effort, int64_t *budget) {
  static const struct {
    const char *name;
    int64_t budget;
  } efforts[] = {{"none", 0}, {"minimal", 1024}, {"low", 1024}, {"medium", 4096}, {"high", 16384}};
  for (size_t i = 0; i < sizeof efforts / sizeof efforts[0]; i++)
    if (strcmp(effort, efforts[i].name) == 0) {
      *budget = efforts[i].budget;
      return true;
    }
  return false;
}

/* thinking/think/reasoning_effort value `v` named `name` -> *t. */
static bool thinking_from(json_object *v, const char *name, thinking *t, hvb_error *err) {
  int64_t n = 0;
  if (json_object_is_type(v, json_type_boolean)) {
    t->on = json_object_get_boolean(v);
    t->budget = t->on ? 4096 : 0;
  } else if (int_value(v, &n)) {
    if (n < 0 || n > TOKENS_MAX)
      return hvb_gateway_fail(err, HVB_EINVAL, "%s must be a token budget from 0 to %d", name,
                              TOKENS_MAX);
    t->on = n > 0;
    t->budget = n > 0 && n < THINKING_MIN_BUDGET ? THINKING_MIN_BUDGET : n;
  } else if (json_object_is_type(v, json_type_string)) {
    if (!effort_budget(json_object_get_string(v), &n))
      return hvb_gateway_fail(err, HVB_EINVAL,
                              "%s '%s' is not one of none, minimal, low, medium, high", name,
                              json_object_get_string(v));
    t->on = n > 0;
    t->budget = n;
  } else if (json_object_is_type(v, json_type_object)) {
    const char *type = str_member(v, "type");
    if (str_eq(type, "enabled") && int_value(member(v, "budget_tokens"), &n) && n > 0 &&
        n <= TOKENS_MAX) {
      t->on = true;
      t->budget = n;
    } else if (str_eq(type, "adaptive")) {
      t->on = true;
    } else if (!str_eq(type, "disabled")) {
      return hvb_gateway_fail(err, HVB_EINVAL,
                              "%s object must be {\"type\":\"enabled\",\"budget_tokens\":N}, "
                              "{\"type\":\"adaptive\"} or {\"type\":\"disabled\"}",
                              name);
    }
    t->native = v;
  } else {
    return hvb_gateway_fail(err, HVB_EINVAL,
                            "%s must be a boolean, a token budget, an effort name or an object",
                            name);
  }
  return true;
}

static bool resolve_thinking(json_object *canonical, thinking *t, hvb_error *err) {
  static const char *const keys[] = {"thinking", "think", "reasoning_effort"};
  for (size_t i = 0; i < 3; i++) {
    json_object *v = member(canonical, keys[i]);
    if (v) return thinking_from(v, keys[i], t, err);
  }
  return true;
}

/* ---- the body ---- */

static bool max_tokens_of(json_object *canonical, int64_t *out, hvb_error *err) {
  static const char *const keys[] = {"max_tokens", "max_completion_tokens"};
  for (size_t i = 0; i < 2; i++) {
    json_object *v = member(canonical, keys[i]);
    if (!v) continue;
    if (!int_value(v, out) || *out <= 0 || *out > TOKENS_MAX)
      return hvb_gateway_fail(err, HVB_EINVAL, "%s must be a positive integer up to %d", keys[i],
                              TOKENS_MAX);
    return true;
  }
  *out = ANTHROPIC_DEFAULT_MAX_TOKENS;
  return true;
}

static bool stop_sequences(json_object *canonical, json_object *body, hvb_error *err) {
  static const char *const keys[] = {"stop", "stop_sequences"};
  json_object *out = json_object_new_array();
  for (size_t k = 0; k < 2; k++) {
    json_object *v = member(canonical, keys[k]);
    if (json_object_is_type(v, json_type_string)) {
      if (*json_object_get_string(v)) json_object_array_add(out, json_object_get(v));
      continue;
    }
    for (size_t i = 0; json_object_is_type(v, json_type_array) && i < alen(v);
         i++) {
      json_object *s = json_object_array_get_idx(v, i);
      if (!json_object_is_type(s, json_type_string)) {
        json_object_put(out);
        return hvb_gateway_fail(err, HVB_EINVAL, "%s[%zu] must be a string", keys[k], i);
      }
      if (*json_object_get_string(s)) json_object_array_add(out, json_object_get(s));
    }
    if (v && !json_object_is_type(v, json_type_array)) {
      json_object_put(out);
      return hvb_gateway_fail(err, HVB_EINVAL, "%s must be a string or an array of strings",
                              keys[k]);
    }
  }
  add_nonempty(body, "stop_sequences", out);
  return true;
}

/* Sampling arguments, given what thinking allows. */
static bool sampling(json_object *canonical, const thinking *t, json_object *body,
                     json_object *dropped, hvb_error *err) {
  static const char *const keys[] = {"temperature", "top_p", "top_k"};
  int64_t k = 0;
  for (size_t i = 0; i < 3; i++) {
    json_object *v = member(canonical, keys[i]);
    if (!v) continue;
    if (!is_number(v))
      return hvb_gateway_fail(err, HVB_EINVAL, "%s must be a number", keys[i]);
    double d = json_object_get_double(v);
    if (d < 0) return hvb_gateway_fail(err, HVB_EINVAL, "%s must not be negative", keys[i]);
    /* With thinking on, the API accepts only temperature 1, top_p >= 0.95 and no top_k. */
    bool allowed = !t->on || (i == 0 && d == 1.0) || (i == 1 && d >= 0.95);
    if (!allowed) {
      note_dropped(dropped, keys[i]);
      continue;
    }
    if (i == 0 && d > 1.0)
      json_object_object_add(body, keys[i], json_object_new_double(1.0));
    else if (i == 2 && !int_value(v, &k))
      return hvb_gateway_fail(err, HVB_EINVAL, "top_k must be an integer");
    else if (i == 2)
      json_object_object_add(body, keys[i], json_object_new_int64(k));
    else
      json_object_object_add(body, keys[i], json_object_get(v));
  }
  return true;
}

static void user_metadata(json_object *canonical, json_object *body, json_object *dropped) {
  const char *user = str_member(canonical, "user");
  json_object *meta = member(canonical, "metadata");
  if (!user) user = str_member(meta, "user_id");
  if (meta && (!json_object_is_type(meta, json_type_object) ||
               olen(meta) > (str_member(meta, "user_id") ? 1u : 0u)))
    note_dropped(dropped, "metadata"); /* OpenAI's metadata tags have no Anthropic place */
  if (!user || !*user) return;
  json_object *m = json_object_new_object();
  add_str(m, "user_id", user);
  json_object_object_add(body, "metadata", m);
}

json_object *anthropic_request(json_object *canonical, json_object *dropped, hvb_error *err) {
  if (!json_object_is_type(canonical, json_type_object)) {
    hvb_gateway_fail(err, HVB_EINVAL, "the canonical request is not a JSON object");
    return NULL;
  }
  const char *model = str_member(canonical, "model");
  if (!model || !*model) {
    hvb_gateway_fail(err, HVB_EINVAL, "the request has no 'model'");
    return NULL;
  }
  json_object *body = json_object_new_object();
  add_str(body, "model", model);

  thinking t = {false, 0, NULL};
  int64_t max_tokens = 0;
  bool ok = resolve_thinking(canonical, &t, err) && max_tokens_of(canonical, &max_tokens, err);
  if (ok) {
    if (t.on && t.budget > 0 && max_tokens <= t.budget) max_tokens += t.budget;
    json_object_object_add(body, "max_tokens", json_object_new_int64(max_tokens));
    ok = translate_messages(member(canonical, "messages"), member(canonical, "system"), body,
                            dropped, err);
  }
  if (ok && t.native) {
    json_object_object_add(body, "thinking", json_object_get(t.native));
  } else if (ok && t.on) {
    json_object *th = json_object_new_object();
    add_str(th, "type", "enabled");
    json_object_object_add(th, "budget_tokens", json_object_new_int64(t.budget));
    json_object_object_add(body, "thinking", th);
  }
  ok = ok && sampling(canonical, &t, body, dropped, err) && stop_sequences(canonical, body, err);

  json_object *tools = member(canonical, "tools");
  bool has_tools = json_object_is_type(tools, json_type_array) && alen(tools);
  if (ok && has_tools)
    ok = translate_tools(tools, body, err) &&
         translate_tool_choice(member(canonical, "tool_choice"),
                               member(canonical, "parallel_tool_calls"), body, err);
  else if (ok && tools && !json_object_is_type(tools, json_type_array))
    ok = hvb_gateway_fail(err, HVB_EINVAL, "'tools' must be an array");
  if (ok && !has_tools) {
    /* A tool choice without tools means nothing, and the API refuses it. */
    if (member(canonical, "tool_choice")) note_dropped(dropped, "tool_choice");
    if (member(canonical, "parallel_tool_calls")) note_dropped(dropped, "parallel_tool_calls");
  }

  if (ok) {
    json_object *stream = member(canonical, "stream");
    if (json_object_is_type(stream, json_type_boolean))
      json_object_object_add(body, "stream", json_object_get(stream));
    user_metadata(canonical, body, dropped);
    const char *tier = str_member(canonical, "service_tier");
    if (tier && (strcmp(tier, "auto") == 0 || strcmp(tier, "standard_only") == 0))
      add_str(body, "service_tier", tier);
    else if (member(canonical, "service_tier"))
      note_dropped(dropped, "service_tier"); /* OpenAI's tiers (default, flex...) differ */
    json_object_object_foreach(canonical, key, val) {
      if (json_object_is_type(val, json_type_null) || in_list(handled_keys, key)) continue;
      if (in_list(native_keys, key))
        json_object_object_add(body, key, json_object_get(val));
      else
        note_dropped(dropped, key);
    }
  }
  if (!ok) {
    json_object_put(body);
    return NULL;
  }
  return body;
}

/* ============================================================================================
 * Response
 * ========================================================================================== */

const char *anthropic_finish_reason(const char *stop_reason) {
  static const struct {
    const char *anthropic, *openai;
  } map[] = {{"end_turn", "stop"},
             {"stop_sequence", "stop"},
             {"pause_turn", "stop"},
             {"max_tokens", "length"},
             {"model_context_window_exceeded", "length"},
             {"tool_use", "tool_calls"},
             {"refusal", "content_filter"}};
  if (!stop_reason) return NULL;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(stop_reason, map[i].anthropic) == 0) return map[i].openai;
  return stop_reason;
}

/* Canonical usage from Anthropic usage objects: `later` (message_delta's, may be NULL) wins
 * field by field over `first` (message_start's, or the response's). New reference, NULL when
 * neither reports tokens. */
static json_object *canonical_usage(json_object *first, json_object *later) {
  static const struct {
    const char *from, *to;
  } fields[] = {{"input_tokens", "prompt_tokens"},
                {"output_tokens", "completion_tokens"},
                {"cache_creation_input_tokens", "cache_creation_input_tokens"},
                {"cache_read_input_tokens", "cache_read_input_tokens"}};
  json_object *usage = json_object_new_object();
  int64_t total = 0;
  bool any = false;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    int64_t n = 0;
    if (!int_value(member(later, fields[i].from), &n) &&
        !int_value(member(first, fields[i].from), &n))
      continue;
    json_object_object_add(usage, fields[i].to, json_object_new_int64(n));
    if (i < 2) {
      total += n;
      any = true;
    }
  }
  if (!any) {
    json_object_put(usage);
    return NULL;
  }
  json_object_object_add(usage, "total_tokens", json_object_new_int64(total));
  return usage;
}

/* ---- reply shape: every member read is checked for its JSON type ----
 * The readers above are lenient (a member of the wrong type reads as absent), which made a
 * reply with "text": 42 an empty success. A wrong type is HVB_PARSE naming the member's path;
 * absent and null are the same to the readers, so a member that may be null may be absent. */

enum { W_NULL = 1, W_BOOL = 2, W_INT = 4, W_NUM = 8, W_STR = 16, W_OBJ = 32, W_ARR = 64 };

static unsigned w_type(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_boolean: return W_BOOL;
  case json_type_int: return W_INT;
  case json_type_double: return W_NUM;
  case json_type_string: return W_STR;
  case json_type_object: return W_OBJ;
  case json_type_array: return W_ARR;
  default: return W_NULL;
  }
}

static const char *w_name(unsigned t) {
  switch (t) {
  case W_BOOL: return "a boolean";
  case W_INT: return "an integer";
  case W_NUM: return "a number";
  case W_STR: return "a string";
  case W_OBJ: return "an object";
  case W_ARR: return "an array";
  default: return "null";
  }
}

/* obj's member `key` is one of `types` (W_NULL: may be null or absent). `where` is the path
 * of obj: "" (the top), "content[2]" or "message_delta event: delta"; a trailing space means
 * no dot before the key. */
static bool want(json_object *obj, const char *key, unsigned types, const char *where,
                 hvb_error *err) {
  json_object *v = NULL;
  bool present = json_object_object_get_ex(obj, key, &v);
  unsigned t = present ? w_type(v) : 0;
  if (types & W_NUM) types |= W_INT;
  if ((!present && (types & W_NULL)) || (t & types)) return true;
  size_t wl = strlen(where);
  const char *dot = wl && where[wl - 1] != ' ' ? "." : "";
  const char *names[8];
  size_t n = 0;
  if (types & W_STR) names[n++] = "a string";
  if (types & W_NUM) names[n++] = "a number"; /* W_NUM accepts integers too */
  else if (types & W_INT) names[n++] = "an integer";
  if (types & W_BOOL) names[n++] = "a boolean";
  if (types & W_OBJ) names[n++] = "an object";
  if (types & W_ARR) names[n++] = "an array";
  if (types & W_NULL) names[n++] = "null";
  char expected[96] = "";
  for (size_t i = 0; i < n; i++) {
    size_t used = strlen(expected);
    snprintf(expected + used, sizeof expected - used, "%s%s",
             i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
  }
  if (!present)
    return hvb_gateway_fail(err, HVB_PARSE, "%s%s%s: missing (expected %s)", where, dot, key,
                            expected);
  return hvb_gateway_fail(err, HVB_PARSE, "%s%s%s: expected %s, got %s", where, dot, key,
                          expected, w_name(t));
}

static bool want_all(json_object *obj, const char *const *keys, unsigned types,
                     const char *where, hvb_error *err) {
  for (; *keys; keys++)
    if (!want(obj, *keys, types, where, err)) return false;
  return true;
}

/* holder.usage: an object or null, its token counts numbers or null. */
static bool usage_shape(json_object *holder, const char *where, hvb_error *err) {
  if (!want(holder, "usage", W_OBJ | W_NULL, where, err)) return false;
  json_object *usage = member(holder, "usage");
  if (!usage) return true;
  char path[96];
  snprintf(path, sizeof path, "%s%susage", where,
           *where && where[strlen(where) - 1] != ' ' ? "." : "");
  static const char *const counts[] = {"input_tokens", "output_tokens",
                                       "cache_creation_input_tokens", "cache_read_input_tokens",
                                       NULL};
  return want_all(usage, counts, W_NUM | W_NULL, path, err);
}

/* A content block of a reply, or the content_block of content_block_start (`start`: its
 * text and thinking may be null, the deltas bring them). */
static bool block_shape(json_object *b, const char *where, bool start, hvb_error *err) {
  if (!json_object_is_type(b, json_type_object))
    return hvb_gateway_fail(err, HVB_PARSE, "%s: expected an object, got %s", where,
                            w_name(w_type(b)));
  if (!want(b, "type", W_STR, where, err)) return false;
  const char *type = str_member(b, "type");
  unsigned text = W_STR | (start ? W_NULL : 0);
  if (str_eq(type, "text")) return want(b, "text", text, where, err);
  if (str_eq(type, "thinking")) return want(b, "thinking", text, where, err);
  if (!str_eq(type, "tool_use")) return true;
  static const char *const ids[] = {"id", "name", NULL};
  return want_all(b, ids, W_STR, where, err) && want(b, "input", W_OBJ | W_NULL, where, err);
}

static bool response_shape(json_object *body, hvb_error *err) {
  if (!want(body, "content", W_ARR, "", err)) return false;
  json_object *content = member(body, "content");
  for (size_t i = 0; i < alen(content); i++) {
    char where[32];
    snprintf(where, sizeof where, "content[%zu]", i);
    if (!block_shape(json_object_array_get_idx(content, i), where, false, err)) return false;
  }
  static const char *const labels[] = {"id", "model", "role", "stop_reason", NULL};
  return want_all(body, labels, W_STR | W_NULL, "", err) && usage_shape(body, "", err);
}

/* The members of a stream event that the translation reads (see anthropic_stream_event). */
static bool event_shape(json_object *ev, const char *type, hvb_error *err) {
  char where[64];
  snprintf(where, sizeof where, "%s event: ", type);
  if (strcmp(type, "message_start") == 0) {
    if (!want(ev, "message", W_OBJ | W_NULL, where, err)) return false;
    snprintf(where, sizeof where, "%s event: message", type);
    return !member(ev, "message") || usage_shape(member(ev, "message"), where, err);
  }
  if (strcmp(type, "content_block_start") == 0) {
    if (!want(ev, "content_block", W_OBJ, where, err) ||
        !want(ev, "index", W_NUM, where, err))
      return false;
    snprintf(where, sizeof where, "%s event: content_block", type);
    return block_shape(member(ev, "content_block"), where, true, err);
  }
  if (strcmp(type, "content_block_delta") == 0) {
    if (!want(ev, "delta", W_OBJ, where, err) || !want(ev, "index", W_NUM, where, err))
      return false;
    json_object *d = member(ev, "delta");
    snprintf(where, sizeof where, "%s event: delta", type);
    if (!want(d, "type", W_STR, where, err)) return false;
    const char *dt = str_member(d, "type");
    return str_eq(dt, "text_delta")         ? want(d, "text", W_STR, where, err)
           : str_eq(dt, "thinking_delta")   ? want(d, "thinking", W_STR, where, err)
           : str_eq(dt, "input_json_delta") ? want(d, "partial_json", W_STR, where, err)
                                            : true;
  }
  if (strcmp(type, "message_delta") == 0) {
    if (!want(ev, "delta", W_OBJ | W_NULL, where, err) || !usage_shape(ev, where, err))
      return false;
    snprintf(where, sizeof where, "%s event: delta", type);
    return !member(ev, "delta") || want(member(ev, "delta"), "stop_reason", W_STR | W_NULL,
                                        where, err);
  }
  return true;
}

static void append_text(struct printbuf *pb, const char *s) {
  if (s) printbuf_memappend(pb, s, (int)strlen(s));
}

/* A tool_use block of a reply as a canonical tool call (new). */
static json_object *tool_call_of(json_object *b) {
  json_object *call = json_object_new_object();
  const char *id = str_member(b, "id");
  if (id) add_str(call, "id", id);
  add_str(call, "type", "function");
  json_object *fn = json_object_new_object();
  const char *name = str_member(b, "name");
  add_str(fn, "name", name ? name : "");
  json_object *input = member(b, "input");
  add_str(fn, "arguments", input ? compact(input) : "{}");
  json_object_object_add(call, "function", fn);
  return call;
}

json_object *anthropic_response(json_object *body, hvb_error *err) {
  if (!json_object_is_type(body, json_type_object)) {
    hvb_gateway_fail(err, HVB_PARSE, "the response is not a JSON object");
    return NULL;
  }
  json_object *error = member(body, "error");
  if (error || str_eq(str_member(body, "type"), "error")) {
    provider_error(error, "the response", err);
    return NULL;
  }
  json_object *content = member(body, "content");
  if (!json_object_is_type(content, json_type_array)) {
    hvb_gateway_fail(err, HVB_PARSE, "the response has no 'content' array (not a Messages reply)");
    return NULL;
  }
  if (!response_shape(body, err)) return NULL;
  struct printbuf *text = printbuf_new(), *think = printbuf_new();
  if (!text || !think) {
    if (text) printbuf_free(text);
    if (think) printbuf_free(think);
    hvb_gateway_fail(err, HVB_ENOMEM, "out of memory reading the response");
    return NULL;
  }
  json_object *calls = json_object_new_array(), *thinking_blocks = json_object_new_array();
  for (size_t i = 0; i < alen(content); i++) {
    json_object *b = json_object_array_get_idx(content, i);
    const char *type = str_member(b, "type");
    if (str_eq(type, "text")) {
      append_text(text, str_member(b, "text"));
    } else if (str_eq(type, "thinking") || str_eq(type, "redacted_thinking")) {
      if (str_eq(type, "thinking")) append_text(think, str_member(b, "thinking"));
      json_object *kept = anthropic_thinking_keep(b);
      if (kept) json_object_array_add(thinking_blocks, kept);
    } else if (str_eq(type, "tool_use")) {
      json_object_array_add(calls, tool_call_of(b));
    }
    /* Server tool blocks and results: nothing a chat result shows. */
  }
  bool has_calls = alen(calls) > 0;
  json_object *message = json_object_new_object();
  add_str(message, "role", "assistant");
  json_object_object_add(message, "content",
                         printbuf_length(text) || !has_calls
                             ? json_object_new_string_len(text->buf, printbuf_length(text))
                             : NULL);
  if (printbuf_length(think))
    json_object_object_add(message, "reasoning_content",
                           json_object_new_string_len(think->buf, printbuf_length(think)));
  if (alen(thinking_blocks))
    json_object_object_add(message, "thinking_blocks", thinking_blocks);
  else
    json_object_put(thinking_blocks);
  if (has_calls)
    json_object_object_add(message, "tool_calls", calls);
  else
    json_object_put(calls);
  printbuf_free(text);
  printbuf_free(think);

  json_object *choice = json_object_new_object();
  json_object_object_add(choice, "index", json_object_new_int(0));
  json_object_object_add(choice, "message", message);
  const char *finish = anthropic_finish_reason(str_member(body, "stop_reason"));
  json_object_object_add(choice, "finish_reason", finish ? json_object_new_string(finish) : NULL);
  json_object *choices = json_object_new_array();
  json_object_array_add(choices, choice);

  json_object *out = json_object_new_object();
  const char *id = str_member(body, "id");
  if (id) add_str(out, "id", id);
  add_str(out, "object", "chat.completion");
  const char *model = str_member(body, "model");
  if (model) add_str(out, "model", model);
  json_object_object_add(out, "choices", choices);
  json_object *usage = canonical_usage(member(body, "usage"), NULL);
  if (usage) json_object_object_add(out, "usage", usage);
  return out;
}

/* ============================================================================================
 * Stream
 * ========================================================================================== */

enum block_kind { BLOCK_TEXT, BLOCK_THINKING, BLOCK_TOOL, BLOCK_OTHER };

typedef struct block {
  int64_t index;   /* Anthropic's content block index */
  enum block_kind kind;
  int ordinal;     /* tool_use blocks: 0, 1, ... in order of appearance */
  bool in_string;  /* tool_use blocks: where the compaction of the argument JSON stands */
  bool escape;
} block;

struct anthropic_stream {
  json_object *message; /* message_start's message (id, model, usage), or NULL */
  block *blocks;
  size_t nblocks, cap;
  int tools;            /* tool_use blocks seen */
  bool usage_sent;
  struct printbuf *think; /* the thinking block being streamed (blocks come one at a time) */
  char *signature;        /* its signature_delta */
};

anthropic_stream *anthropic_stream_new(void) {
  return calloc(1, sizeof(anthropic_stream));
}

void anthropic_stream_free(anthropic_stream *st) {
  if (!st) return;
  json_object_put(st->message);
  free(st->blocks);
  if (st->think) printbuf_free(st->think);
  free(st->signature);
  free(st);
}

static block *find_block(anthropic_stream *st, int64_t index) {
  /* From the end: a repeated index (never sent by Anthropic) means the latest block. */
  for (size_t i = st->nblocks; i-- > 0;)
    if (st->blocks[i].index == index) return &st->blocks[i];
  return NULL;
}

static block *add_block(anthropic_stream *st, int64_t index, enum block_kind kind) {
  if (st->nblocks == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 8;
    block *b = realloc(st->blocks, cap * sizeof *b);
    if (!b) return NULL;
    st->blocks = b;
    st->cap = cap;
  }
  block *b = &st->blocks[st->nblocks++];
  memset(b, 0, sizeof *b);
  b->index = index;
  b->kind = kind;
  if (kind == BLOCK_TOOL) b->ordinal = st->tools++;
  return b;
}

/* A new chunk {id?, object, model?, choices: [{index: 0, delta: {}, finish_reason: null}]},
 * appended to `chunks` (borrowed from it). */
static json_object *new_chunk(anthropic_stream *st, json_object *chunks) {
  json_object *chunk = json_object_new_object();
  const char *id = str_member(st->message, "id");
  if (id) add_str(chunk, "id", id);
  add_str(chunk, "object", "chat.completion.chunk");
  const char *model = str_member(st->message, "model");
  if (model) add_str(chunk, "model", model);
  json_object *choice = json_object_new_object();
  json_object_object_add(choice, "index", json_object_new_int(0));
  json_object_object_add(choice, "delta", json_object_new_object());
  json_object_object_add(choice, "finish_reason", NULL);
  json_object *choices = json_object_new_array();
  json_object_array_add(choices, choice);
  json_object_object_add(chunk, "choices", choices);
  json_object_array_add(chunks, chunk);
  return chunk;
}

static json_object *chunk_choice(json_object *chunk) {
  return json_object_array_get_idx(member(chunk, "choices"), 0);
}

static json_object *chunk_delta(json_object *chunk) {
  return member(chunk_choice(chunk), "delta");
}

static void emit_text(anthropic_stream *st, json_object *chunks, const char *key, const char *s) {
  if (!s || !*s) return;
  add_str(chunk_delta(new_chunk(st, chunks)), key, s);
}

/* A tool_calls fragment for tool block `b`: on its start (id and name given) or with an
 * arguments fragment. */
static void emit_tool(anthropic_stream *st, json_object *chunks, const block *b, const char *id,
                      const char *name, const char *args, size_t args_len) {
  json_object *frag = json_object_new_object();
  json_object_object_add(frag, "index", json_object_new_int(b->ordinal));
  if (id) add_str(frag, "id", id);
  if (name) add_str(frag, "type", "function");
  json_object *fn = json_object_new_object();
  if (name) add_str(fn, "name", name);
  json_object_object_add(fn, "arguments", json_object_new_string_len(args, (int)args_len));
  json_object_object_add(frag, "function", fn);
  json_object *calls = json_object_new_array();
  json_object_array_add(calls, frag);
  json_object_object_add(chunk_delta(new_chunk(st, chunks)), "tool_calls", calls);
}

/* Strip the whitespace outside strings from an argument JSON fragment, keeping the state
 * between fragments in `b`. Anthropic streams "{\"city\": \"Paris\"}" where the whole reply
 * says {"city":"Paris"}: compacting makes a gathered stream equal the reply it streams.
 * Returns the new length (the text is edited in place). */
static size_t compact_fragment(block *b, char *s, size_t len) {
  size_t out = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (b->in_string) {
      if (b->escape)
        b->escape = false;
      else if (c == '\\')
        b->escape = true;
      else if (c == '"')
        b->in_string = false;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      continue;
    } else if (c == '"') {
      b->in_string = true;
    }
    s[out++] = c;
  }
  return out;
}

/* A thinking block starts: gather its text and signature until content_block_stop. */
static void thinking_begin(anthropic_stream *st, const char *text) {
  if (st->think) printbuf_free(st->think);
  st->think = printbuf_new();
  if (st->think && text) printbuf_memappend(st->think, text, (int)strlen(text));
  free(st->signature);
  st->signature = NULL;
}

/* The block ended: hand it on whole, with its signature, as "thinking_blocks". */
static void thinking_end(anthropic_stream *st, json_object *chunks) {
  bool keep = st->think && st->signature; /* unsigned thinking cannot be sent back */
  if (!keep) {
    if (st->think) printbuf_free(st->think);
    st->think = NULL;
    return;
  }
  json_object *list = anthropic_thinking_streamed(st->think->buf, (size_t)printbuf_length(st->think),
                                                  st->signature);
  json_object_object_add(chunk_delta(new_chunk(st, chunks)), "thinking_blocks", list);
  printbuf_free(st->think);
  st->think = NULL;
}

static bool on_block_start(anthropic_stream *st, json_object *ev, json_object *chunks,
                           hvb_error *err) {
  int64_t index = 0;
  json_object *cb = member(ev, "content_block");
  if (!int_value(member(ev, "index"), &index) || !json_object_is_type(cb, json_type_object))
    return hvb_gateway_fail(err, HVB_PARSE,
                            "content_block_start without 'index' or 'content_block'");
  const char *type = str_member(cb, "type");
  enum block_kind kind = str_eq(type, "text")       ? BLOCK_TEXT
                         : str_eq(type, "thinking") ? BLOCK_THINKING
                         : str_eq(type, "tool_use") ? BLOCK_TOOL
                                                    : BLOCK_OTHER;
  block *b = add_block(st, index, kind);
  if (!b) return hvb_gateway_fail(err, HVB_ENOMEM, "out of memory tracking content blocks");
  if (kind == BLOCK_TEXT) {
    emit_text(st, chunks, "content", str_member(cb, "text"));
  } else if (kind == BLOCK_THINKING) {
    emit_text(st, chunks, "reasoning_content", str_member(cb, "thinking"));
    thinking_begin(st, str_member(cb, "thinking"));
  } else if (str_eq(type, "redacted_thinking")) {
    json_object *list = json_object_new_array(), *kept = anthropic_thinking_keep(cb);
    if (kept) json_object_array_add(list, kept);
    json_object_object_add(chunk_delta(new_chunk(st, chunks)), "thinking_blocks", list);
  } else if (kind == BLOCK_TOOL) {
    const char *id = str_member(cb, "id");
    const char *name = str_member(cb, "name");
    if (!id || !name)
      return hvb_gateway_fail(err, HVB_PARSE, "tool_use block %lld without 'id' or 'name'",
                              (long long)index);
    /* The input arrives through input_json_delta; a server that sends it whole here
     * (non-empty) gets it as the first fragment. */
    json_object *input = member(cb, "input");
    const char *args = olen(input) > 0 ? compact(input) : "";
    emit_tool(st, chunks, b, id, name, args, strlen(args));
  }
  return true;
}

static bool on_block_delta(anthropic_stream *st, json_object *ev, json_object *chunks,
                           hvb_error *err) {
  int64_t index = 0;
  json_object *delta = member(ev, "delta");
  if (!int_value(member(ev, "index"), &index) || !json_object_is_type(delta, json_type_object))
    return hvb_gateway_fail(err, HVB_PARSE, "content_block_delta without 'index' or 'delta'");
  const char *type = str_member(delta, "type");
  if (str_eq(type, "text_delta")) {
    emit_text(st, chunks, "content", str_member(delta, "text"));
  } else if (str_eq(type, "thinking_delta")) {
    emit_text(st, chunks, "reasoning_content", str_member(delta, "thinking"));
    const char *t = str_member(delta, "thinking");
    if (st->think && t) printbuf_memappend(st->think, t, (int)strlen(t));
  } else if (str_eq(type, "signature_delta")) {
    const char *sig = str_member(delta, "signature");
    free(st->signature);
    st->signature = sig ? strdup(sig) : NULL;
  } else if (str_eq(type, "input_json_delta")) {
    block *b = find_block(st, index);
    if (!b || b->kind != BLOCK_TOOL)
      return hvb_gateway_fail(err, HVB_PARSE,
                              "input_json_delta for content block %lld, which is not a tool_use "
                              "block",
                              (long long)index);
    json_object *pj = member(delta, "partial_json");
    if (!json_object_is_type(pj, json_type_string)) return true;
    size_t len = (size_t)json_object_get_string_len(pj);
    char *frag = malloc(len + 1);
    if (!frag) return hvb_gateway_fail(err, HVB_ENOMEM, "out of memory reading tool arguments");
    memcpy(frag, json_object_get_string(pj), len + 1);
    len = compact_fragment(b, frag, len);
    if (len) emit_tool(st, chunks, b, NULL, NULL, frag, len);
    free(frag);
  }
  /* citations_delta carries nothing the canonical form holds. */
  return true;
}

bool anthropic_stream_event(anthropic_stream *st, const char *event, const char *data,
                            size_t len, json_object *chunks, bool *done, hvb_error *err) {
  if (!st) return hvb_gateway_fail(err, HVB_ENOMEM, "no stream state (out of memory)");
  json_object *ev = parse_whole(data, len);
  if (!json_object_is_type(ev, json_type_object)) {
    json_object_put(ev);
    return hvb_gateway_fail(err, HVB_PARSE, "stream event '%s' is not a JSON object",
                            *event ? event : "(unnamed)");
  }
  const char *type = str_member(ev, "type");
  if (!type) type = event;
  bool ok = want(ev, "type", W_STR | W_NULL, "stream event: ", err) && event_shape(ev, type, err);
  if (!ok) {
    json_object_put(ev);
    return false;
  }
  if (strcmp(type, "message_start") == 0) {
    json_object *msg = member(ev, "message");
    if (json_object_is_type(msg, json_type_object)) {
      json_object_put(st->message);
      st->message = json_object_get(msg);
    }
    add_str(chunk_delta(new_chunk(st, chunks)), "role", "assistant");
  } else if (strcmp(type, "content_block_start") == 0) {
    ok = on_block_start(st, ev, chunks, err);
  } else if (strcmp(type, "content_block_delta") == 0) {
    ok = on_block_delta(st, ev, chunks, err);
  } else if (strcmp(type, "message_delta") == 0) {
    json_object *chunk = new_chunk(st, chunks);
    const char *finish = anthropic_finish_reason(str_member(member(ev, "delta"), "stop_reason"));
    if (finish) add_str(chunk_choice(chunk), "finish_reason", finish);
    /* Usage once, for the whole message: message_delta's counts are cumulative and win over
     * message_start's (the pipeline sums usage chunks, so a second report would count
     * twice). */
    json_object *usage = st->usage_sent ? NULL
                                        : canonical_usage(member(st->message, "usage"),
                                                          member(ev, "usage"));
    if (usage) {
      json_object_object_add(chunk, "usage", usage);
      st->usage_sent = true;
    }
  } else if (strcmp(type, "message_stop") == 0) {
    /* A stream without message_delta still reports message_start's usage. */
    json_object *usage =
        st->usage_sent ? NULL : canonical_usage(member(st->message, "usage"), NULL);
    if (usage) {
      json_object_object_add(new_chunk(st, chunks), "usage", usage);
      st->usage_sent = true;
    }
    *done = true;
  } else if (strcmp(type, "content_block_stop") == 0) {
    thinking_end(st, chunks);
  } else if (strcmp(type, "error") == 0) {
    ok = provider_error(member(ev, "error") ? member(ev, "error") : ev, "the stream", err);
  }
  /* ping and event types added after this was written: nothing. */
  json_object_put(ev);
  return ok;
}
