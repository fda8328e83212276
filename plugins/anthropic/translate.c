/* plugins/anthropic/translate.c: canonical (OpenAI chat) requests -> Anthropic Messages
 * requests. The rules are listed in translate.h; replies and streams are reply.c. JSON is
 * built with json-c; failures are reported through hvb_gateway_fail and never abort. */
#include "translate.h"
#include "json-util.h"

#include <heavenbase/gateway.h>
#include <json-c/printbuf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
