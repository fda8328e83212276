/* plugins/anthropic/structured.c: structured output on the Messages API (see structured.h).
 *
 * The Messages API has no response_format. A model whose catalog entry says
 * "structured_output": "native" gets output_config.format {"type": "json_schema", "schema"};
 * any other gets a forced tool whose input_schema is the schema, and the tool's input comes
 * back as the reply's text: the caller sees the structured value, never a tool call it did not
 * ask for. */
#include "structured.h"

#include <heavenbase/gateway.h>
#include <string.h>

#define TOOL_DESCRIPTION "Give the answer: call this with the answer as its input."

static json_object *member(json_object *obj, const char *key) {
  json_object *v = NULL;
  if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v))
    return NULL;
  return v;
}

static const char *str(json_object *obj, const char *key) {
  json_object *v = member(obj, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static json_object *copy(json_object *v) {
  json_object *out = NULL;
  json_object_deep_copy(v, &out, NULL);
  return out;
}

static bool native_format(const hvb_spec *spec) {
  const char *how = str(hvb_spec_model_info(spec), "structured_output");
  return how && !strcmp(how, "native");
}

static void add_native(json_object *body, json_object *schema) {
  json_object *cfg = member(body, "output_config");
  if (!json_object_is_type(cfg, json_type_object)) {
    cfg = json_object_new_object();
    json_object_object_add(body, "output_config", cfg);
  }
  json_object *format = json_object_new_object();
  json_object_object_add(format, "type", json_object_new_string("json_schema"));
  json_object_object_add(format, "schema", copy(schema));
  json_object_object_add(cfg, "format", format);
}

static bool add_tool(json_object *body, json_object *schema, hvb_error *err) {
  const char *type = str(schema, "type");
  if (type && strcmp(type, "object"))
    return hvb_gateway_fail(err, HVB_UNSUPPORTED,
                            "anthropic: a forced-tool schema must describe an object, not %s "
                            "(the model's catalog entry has no \"structured_output\": \"native\")",
                            type);
  json_object *tools = member(body, "tools");
  bool user_tools = json_object_is_type(tools, json_type_array);
  if (!user_tools) {
    tools = json_object_new_array();
    json_object_object_add(body, "tools", tools);
  }
  json_object *tool = json_object_new_object();
  json_object_object_add(tool, "name", json_object_new_string(ANTHROPIC_STRUCTURED_TOOL));
  json_object_object_add(tool, "description", json_object_new_string(TOOL_DESCRIPTION));
  json_object_object_add(tool, "input_schema", copy(schema));
  json_object_array_add(tools, tool);
  /* With the caller's tools the model may still call them first (a tool loop); extended
   * thinking refuses a forced tool, so then the choice is the model's. */
  json_object *choice = json_object_new_object();
  if (member(body, "thinking")) {
    json_object_object_add(choice, "type", json_object_new_string("auto"));
  } else if (user_tools) {
    json_object_object_add(choice, "type", json_object_new_string("any"));
  } else {
    json_object_object_add(choice, "type", json_object_new_string("tool"));
    json_object_object_add(choice, "name", json_object_new_string(ANTHROPIC_STRUCTURED_TOOL));
  }
  json_object_object_add(body, "tool_choice", choice);
  return true;
}

bool anthropic_structured_request(const hvb_spec *spec, json_object *canonical,
                                  json_object *body, hvb_error *err) {
  json_object *rf = member(canonical, "response_format");
  const char *type = str(rf, "type");
  if (!type || !strcmp(type, "text")) return true;
  json_object *schema = NULL, *any_object = NULL;
  if (!strcmp(type, "json_schema")) {
    schema = member(member(rf, "json_schema"), "schema");
  } else if (!strcmp(type, "json_object")) {
    schema = any_object = json_object_new_object();
    json_object_object_add(any_object, "type", json_object_new_string("object"));
  }
  if (!json_object_is_type(schema, json_type_object))
    return hvb_gateway_fail(err, HVB_EINVAL, "anthropic: response_format of type '%s' has no "
                                             "schema object", type);
  bool ok = true;
  if (native_format(spec) && !any_object)
    add_native(body, schema);
  else
    ok = add_tool(body, schema, err);
  json_object_put(any_object);
  return ok;
}

/* ---- replies ---- */

static bool is_answer_tool(json_object *call) {
  const char *name = str(member(call, "function"), "name");
  return name && !strcmp(name, ANTHROPIC_STRUCTURED_TOOL);
}

void anthropic_structured_completion(json_object *completion) {
  json_object *choice = json_object_array_get_idx(member(completion, "choices"), 0);
  json_object *msg = member(choice, "message");
  json_object *calls = member(msg, "tool_calls");
  if (!json_object_is_type(calls, json_type_array)) return;
  json_object *kept = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(calls); i++) {
    json_object *call = json_object_array_get_idx(calls, i);
    if (is_answer_tool(call)) {
      const char *args = str(member(call, "function"), "arguments");
      json_object_object_add(msg, "content", json_object_new_string(args ? args : "{}"));
    } else {
      json_object_array_add(kept, json_object_get(call));
    }
  }
  if (json_object_array_length(kept) == json_object_array_length(calls)) {
    json_object_put(kept);
    return;
  }
  if (json_object_array_length(kept)) {
    json_object_object_add(msg, "tool_calls", kept);
  } else {
    json_object_put(kept);
    json_object_object_del(msg, "tool_calls");
    json_object_object_add(choice, "finish_reason", json_object_new_string("stop"));
  }
}

/* One chunk's tool-call fragments: the answer tool's become text. */
static void chunk_answer(anthropic_structured_stream *st, json_object *chunk) {
  json_object *choice = json_object_array_get_idx(member(chunk, "choices"), 0);
  json_object *delta = member(choice, "delta");
  json_object *calls = member(delta, "tool_calls");
  const char *finish = str(choice, "finish_reason");
  if (json_object_is_type(calls, json_type_array)) {
    json_object *kept = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(calls); i++) {
      json_object *frag = json_object_array_get_idx(calls, i);
      json_object *idx = member(frag, "index");
      if (is_answer_tool(frag)) st->answer_index = json_object_get_int(idx);
      if (idx && json_object_get_int(idx) == st->answer_index) {
        const char *args = str(member(frag, "function"), "arguments");
        if (args && *args) json_object_object_add(delta, "content", json_object_new_string(args));
      } else {
        st->other_tools = true;
        json_object_array_add(kept, json_object_get(frag));
      }
    }
    if (json_object_array_length(kept))
      json_object_object_add(delta, "tool_calls", kept);
    else {
      json_object_put(kept);
      json_object_object_del(delta, "tool_calls");
    }
  }
  if (finish && !strcmp(finish, "tool_calls") && st->answer_index >= 0 && !st->other_tools)
    json_object_object_add(choice, "finish_reason", json_object_new_string("stop"));
}

void anthropic_structured_chunks(anthropic_structured_stream *st, json_object *chunks) {
  for (size_t i = 0; i < json_object_array_length(chunks); i++)
    chunk_answer(st, json_object_array_get_idx(chunks, i));
}
