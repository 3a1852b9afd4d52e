"""Validation of chat completion requests, answered in the OpenAI API's error shape.

The checks follow the OpenAI chat completions reference for the request body:
parameter types and ranges, message roles and content, the pairing of an
assistant message's tool_calls with the tool messages that answer them, and
function tools whose parameters are a JSON Schema object. The messages imitate
the API's wording, but clients should match on status, type, param and code.

Known differences from the real API: it accepts only n = 1, it rejects the
deprecated "function" role and "functions" parameters, and it checks JSON
Schemas for structure only.
"""

import re

JSON_SCHEMA_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
ROLES = ("system", "developer", "user", "assistant", "tool")
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
FUNCTION_NAME_MAX = 64

# Top-level parameters of the chat completions request that the real API
# accepts. Those not checked below are accepted as they are.
KNOWN_PARAMETERS = frozenset({
    "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "stream",
    "stream_options", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "n", "user", "seed", "stop", "presence_penalty", "frequency_penalty",
    "logit_bias", "logprobs", "top_logprobs", "response_format", "metadata",
    "store", "service_tier", "modalities", "audio", "prediction",
    "reasoning_effort", "web_search_options", "safety_identifier",
    "prompt_cache_key", "verbosity",
})

MESSAGE_KEYS = {
    "system": {"role", "content", "name"},
    "developer": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "name", "tool_calls", "refusal", "audio"},
    "tool": {"role", "content", "tool_call_id"},
}

CONTENT_PART_TYPES = {
    "system": ("text",),
    "developer": ("text",),
    "user": ("text", "image_url", "input_audio", "file"),
    "assistant": ("text", "refusal"),
    "tool": ("text",),
}


class ApiError(Exception):
    """An error response: HTTP status and the body {"error": {message, type, param, code}}."""

    def __init__(self, status, message, error_type="invalid_request_error",
                 param=None, code=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self):
        return {"error": {"message": self.message, "type": self.error_type,
                          "param": self.param, "code": self.code}}


def json_type_name(value):
    """Return the JSON type of a parsed value with its article, as the API words it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def invalid_type(param, expected, value):
    return ApiError(400, f"Invalid type for '{param}': expected {expected}, "
                         f"but got {json_type_name(value)} instead.",
                    param=param, code="invalid_type")


def missing(param):
    return ApiError(400, f"Missing required parameter: '{param}'.",
                    param=param, code="missing_required_parameter")


def invalid_value(param, message):
    return ApiError(400, message, param=param, code="invalid_value")


def empty_array(param):
    return ApiError(400, f"Invalid '{param}': empty array. Expected an array with minimum "
                         "length 1, but got an empty array instead.",
                    param=param, code="empty_array")


def unexpected_keys(param, value, allowed):
    extra = sorted(set(value) - allowed)
    if extra:
        raise ApiError(400, f"Additional properties are not allowed ('{extra[0]}' was "
                            f"unexpected) - '{param}'.", param=param, code="invalid_value")


def is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_number(body, param, low, high):
    if param not in body:
        return
    value = body[param]
    if not is_number(value):
        raise invalid_type(param, "a decimal", value)
    if value < low:
        raise ApiError(400, f"Invalid '{param}': decimal below minimum value. Expected a value "
                            f">= {low}, but got {value} instead.",
                       param=param, code="decimal_below_min_value")
    if value > high:
        raise ApiError(400, f"Invalid '{param}': decimal above maximum value. Expected a value "
                            f"<= {high}, but got {value} instead.",
                       param=param, code="decimal_above_max_value")


def check_positive_integer(body, param):
    if param not in body or body[param] is None:
        return
    value = body[param]
    if not is_integer(value):
        raise invalid_type(param, "an integer", value)
    if value < 1:
        raise ApiError(400, f"Invalid '{param}': integer below minimum value. Expected a value "
                            f">= 1, but got {value} instead.",
                       param=param, code="integer_below_min_value")


def check_boolean(body, param):
    if param in body and not isinstance(body[param], bool):
        raise invalid_type(param, "a boolean", body[param])


def check_string(body, param):
    if param in body and not isinstance(body[param], str):
        raise invalid_type(param, "a string", body[param])


def validate_content_parts(parts, role, param):
    if not parts:
        raise empty_array(param)
    allowed = CONTENT_PART_TYPES[role]
    for i, part in enumerate(parts):
        where = f"{param}[{i}]"
        if not isinstance(part, dict):
            raise invalid_type(where, "an object", part)
        part_type = part.get("type")
        if part_type not in allowed:
            names = ", ".join(f"'{t}'" for t in allowed)
            raise invalid_value(f"{where}.type", f"Invalid value: '{part_type}'. Supported "
                                                 f"values are: {names}.")
        if part_type in ("text", "refusal") and not isinstance(part.get(part_type), str):
            raise invalid_type(f"{where}.{part_type}", "a string", part.get(part_type))


def validate_content(message, role, index):
    param = f"messages[{index}].content"
    if "content" not in message:
        if role == "assistant" and message.get("tool_calls"):
            return
        raise missing(param)
    content = message["content"]
    if content is None:
        if role == "assistant" and (message.get("tool_calls") or message.get("refusal")):
            return
        raise invalid_value(f"messages.[{index}].content",
                            "Invalid value for 'content': expected a string, got null.")
    if isinstance(content, list):
        validate_content_parts(content, role, param)
    elif not isinstance(content, str):
        raise invalid_type(param, "one of a string or array of objects", content)


def validate_tool_call(call, param):
    if not isinstance(call, dict):
        raise invalid_type(param, "an object", call)
    unexpected_keys(param, call, {"id", "type", "function"})
    if "id" not in call:
        raise missing(f"{param}.id")
    if not isinstance(call["id"], str):
        raise invalid_type(f"{param}.id", "a string", call["id"])
    if call.get("type") != "function":
        raise invalid_value(f"{param}.type", f"Invalid value: '{call.get('type')}'. Supported "
                                             "values are: 'function'.")
    function = call.get("function")
    if function is None:
        raise missing(f"{param}.function")
    if not isinstance(function, dict):
        raise invalid_type(f"{param}.function", "an object", function)
    unexpected_keys(f"{param}.function", function, {"name", "arguments"})
    for key in ("name", "arguments"):
        if key not in function:
            raise missing(f"{param}.function.{key}")
        if not isinstance(function[key], str):
            raise invalid_type(f"{param}.function.{key}", "a string", function[key])


def validate_assistant_tool_calls(message, index):
    """Check an assistant message's tool_calls. Return their ids, or None without any."""
    if "tool_calls" not in message or message["tool_calls"] is None:
        return None
    calls = message["tool_calls"]
    param = f"messages[{index}].tool_calls"
    if not isinstance(calls, list):
        raise invalid_type(param, "an array", calls)
    if not calls:
        raise empty_array(param)
    ids = []
    for i, call in enumerate(calls):
        validate_tool_call(call, f"{param}[{i}]")
        if call["id"] in ids:
            raise invalid_value(f"{param}[{i}].id", f"Duplicate tool call id '{call['id']}' in "
                                                    f"messages[{index}].tool_calls.")
        ids.append(call["id"])
    return ids


def unanswered_error(ids, index):
    return ApiError(400, "An assistant message with 'tool_calls' must be followed by tool messages "
                         "responding to each 'tool_call_id'. The following tool_call_ids did not "
                         f"have response messages: {', '.join(ids)}",
                    param=f"messages.[{index}].role")


class ToolCallPairing:
    """Tracks which tool calls of the latest assistant message still lack a tool message."""

    def __init__(self):
        self.ids = None
        self.answered = {}

    def unanswered(self):
        return [i for i in (self.ids or []) if i not in self.answered]

    def start(self, ids):
        self.ids = ids
        self.answered = {}

    def answer(self, message, index):
        tool_call_id = message.get("tool_call_id")
        param = f"messages[{index}].tool_call_id"
        if tool_call_id is None:
            raise missing(param)
        if not isinstance(tool_call_id, str):
            raise invalid_type(param, "a string", tool_call_id)
        if self.ids is None:
            raise ApiError(400, "Invalid parameter: messages with role 'tool' must be a response "
                                "to a preceding message with 'tool_calls'.",
                           param=f"messages.[{index}].role")
        if tool_call_id not in self.ids:
            raise ApiError(400, f"Invalid parameter: 'tool_call_id' of '{tool_call_id}' not found "
                                "in 'tool_calls' of previous message.",
                           param=f"messages.[{index}].tool_call_id")
        if tool_call_id in self.answered:
            raise ApiError(400, f"Invalid parameter: 'tool_call_id' of '{tool_call_id}' was already "
                                f"answered by messages[{self.answered[tool_call_id]}].",
                           param=f"messages.[{index}].tool_call_id")
        self.answered[tool_call_id] = index

    def leave(self, index):
        """Close the block of tool messages before a message of another role."""
        pending = self.unanswered()
        if pending:
            raise unanswered_error(pending, index)
        self.ids = None


def validate_message(message, index, pairing):
    param = f"messages[{index}]"
    if not isinstance(message, dict):
        raise invalid_type(param, "an object", message)
    if "role" not in message:
        raise missing(f"{param}.role")
    role = message["role"]
    if role not in ROLES:
        raise invalid_value(f"{param}.role", f"Invalid value: '{role}'. Supported values are: "
                                             "'system', 'developer', 'user', 'assistant', and 'tool'.")
    unexpected_keys(param, message, MESSAGE_KEYS[role])
    if "name" in message and not isinstance(message["name"], str):
        raise invalid_type(f"{param}.name", "a string", message["name"])

    if role == "tool":
        pairing.answer(message, index)
    else:
        pairing.leave(index)
    validate_content(message, role, index)
    if role == "assistant":
        ids = validate_assistant_tool_calls(message, index)
        if ids:
            pairing.start(ids)


def validate_messages(body):
    if "messages" not in body:
        raise missing("messages")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise invalid_type("messages", "an array", messages)
    if not messages:
        raise empty_array("messages")
    pairing = ToolCallPairing()
    for index, message in enumerate(messages):
        validate_message(message, index, pairing)
    pending = pairing.unanswered()
    if pending:
        raise unanswered_error(pending, len(messages))


def schema_error(function_name, path, problem):
    where = f" at '{path}'" if path else ""
    return ApiError(400, f"Invalid schema for function '{function_name}'{where}: {problem}",
                    param="tools", code="invalid_function_parameters")


def validate_schema(schema, function_name, path):
    """Check the structure of a JSON Schema: types, properties, required, items, enum."""
    if not isinstance(schema, dict):
        raise schema_error(function_name, path, f"expected a schema object, got {json_type_name(schema)}.")
    declared = schema.get("type")
    if declared is None:
        types = []
    elif isinstance(declared, list):
        types = declared
    else:
        types = [declared]
    for name in types:
        if name not in JSON_SCHEMA_TYPES:
            raise schema_error(function_name, path, f"'{name}' is not a JSON Schema type.")
    if "properties" in schema:
        properties = schema["properties"]
        if not isinstance(properties, dict):
            raise schema_error(function_name, path, "'properties' must be an object.")
        for key, sub in properties.items():
            validate_schema(sub, function_name, f"{path}.properties.{key}" if path else f"properties.{key}")
    if "required" in schema:
        required = schema["required"]
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise schema_error(function_name, path, "'required' must be an array of strings.")
    if "items" in schema:
        validate_schema(schema["items"], function_name, f"{path}.items" if path else "items")
    if "enum" in schema and not isinstance(schema["enum"], list):
        raise schema_error(function_name, path, "'enum' must be an array.")


def validate_function(function, param):
    if function is None:
        raise missing(param)
    if not isinstance(function, dict):
        raise invalid_type(param, "an object", function)
    unexpected_keys(param, function, {"name", "description", "parameters", "strict"})
    name = function.get("name")
    if name is None:
        raise missing(f"{param}.name")
    if not isinstance(name, str):
        raise invalid_type(f"{param}.name", "a string", name)
    if len(name) > FUNCTION_NAME_MAX:
        raise ApiError(400, f"Invalid '{param}.name': string too long. Expected a string with "
                            f"maximum length {FUNCTION_NAME_MAX}, but got a string with length "
                            f"{len(name)} instead.", param=f"{param}.name", code="string_above_max_length")
    if not FUNCTION_NAME.match(name):
        raise invalid_value(f"{param}.name", f"Invalid '{param}.name': string does not match "
                                             "pattern. Expected a string that matches the pattern "
                                             f"'{FUNCTION_NAME.pattern}'.")
    if "description" in function and not isinstance(function["description"], str):
        raise invalid_type(f"{param}.description", "a string", function["description"])
    if "strict" in function and not isinstance(function["strict"], (bool, type(None))):
        raise invalid_type(f"{param}.strict", "a boolean", function["strict"])
    if "parameters" in function:
        parameters = function["parameters"]
        if not isinstance(parameters, dict):
            raise invalid_type(f"{param}.parameters", "an object", parameters)
        if parameters.get("type") != "object":
            raise schema_error(name, "", "schema must be a JSON Schema of 'type: \"object\"', got "
                                         f"'type: \"{parameters.get('type')}\"'.")
        validate_schema(parameters, name, "")
    return name


def validate_tools(body):
    """Check the tools array. Return the function names, in order."""
    if "tools" not in body:
        return []
    tools = body["tools"]
    if not isinstance(tools, list):
        raise invalid_type("tools", "an array", tools)
    if not tools:
        raise empty_array("tools")
    names = []
    for i, tool in enumerate(tools):
        param = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise invalid_type(param, "an object", tool)
        unexpected_keys(param, tool, {"type", "function"})
        if tool.get("type") != "function":
            raise invalid_value(f"{param}.type", f"Invalid value: '{tool.get('type')}'. Supported "
                                                 "values are: 'function'.")
        name = validate_function(tool.get("function"), f"{param}.function")
        if name in names:
            raise invalid_value(f"{param}.function.name", f"Duplicate function name '{name}' in "
                                                          "'tools'. Each tool needs a unique name.")
        names.append(name)
    return names


def validate_tool_choice(body, names):
    if "tool_choice" not in body:
        return
    choice = body["tool_choice"]
    if not names:
        raise invalid_value("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is only "
                                           "allowed when 'tools' are specified.")
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise invalid_value("tool_choice", f"Invalid value: '{choice}'. Supported values are: "
                                               "'none', 'auto', and 'required'.")
        return
    if not isinstance(choice, dict):
        raise invalid_type("tool_choice", "one of a string or object", choice)
    function = choice.get("function")
    if choice.get("type") != "function" or not isinstance(function, dict):
        raise invalid_value("tool_choice", "Invalid value for 'tool_choice': expected "
                                           "{\"type\": \"function\", \"function\": {\"name\": ...}}.")
    if function.get("name") not in names:
        raise invalid_value("tool_choice", f"Invalid value for 'tool_choice': function "
                                           f"'{function.get('name')}' is not in 'tools'.")


def validate_stream(body):
    check_boolean(body, "stream")
    if "stream_options" not in body or body["stream_options"] is None:
        return
    options = body["stream_options"]
    if not body.get("stream"):
        raise ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                       param="stream_options")
    if not isinstance(options, dict):
        raise invalid_type("stream_options", "an object", options)
    unexpected_keys("stream_options", options, {"include_usage", "include_obfuscation"})
    check_boolean(options, "include_usage")
    check_boolean(options, "include_obfuscation")


def validate_sampling(body):
    check_number(body, "temperature", 0, 2)
    check_number(body, "top_p", 0, 1)
    check_number(body, "presence_penalty", -2, 2)
    check_number(body, "frequency_penalty", -2, 2)
    check_positive_integer(body, "max_tokens")
    check_positive_integer(body, "max_completion_tokens")
    if "n" in body and body["n"] is not None:
        if not is_integer(body["n"]):
            raise invalid_type("n", "an integer", body["n"])
        if body["n"] != 1:
            raise invalid_value("n", f"Invalid 'n': this test server returns one choice, so n must "
                                     f"be 1, but got {body['n']}.")
    check_string(body, "user")
    if "seed" in body and body["seed"] is not None and not is_integer(body["seed"]):
        raise invalid_type("seed", "an integer", body["seed"])
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str):
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise invalid_type("stop", "one of a string or array of strings", stop)
        if len(stop) > 4:
            raise invalid_value("stop", f"Invalid 'stop': array too long. Expected an array with "
                                        f"maximum length 4, but got an array with length {len(stop)} instead.")


def validate_request(body):
    """Raise ApiError (status 400) unless body is a valid chat completions request.

    Returns the list of function names in body["tools"].
    """
    if not isinstance(body, dict):
        raise ApiError(400, f"Invalid request body: expected a JSON object, but got "
                            f"{json_type_name(body)}.")
    for key in body:
        if key not in KNOWN_PARAMETERS:
            raise ApiError(400, f"Unrecognized request argument supplied: {key}")
    if "model" not in body:
        raise ApiError(400, "you must provide a model parameter", param=None)
    if not isinstance(body["model"], str):
        raise invalid_type("model", "a string", body["model"])
    if not body["model"]:
        raise invalid_value("model", "Invalid 'model': empty string. Name a model, for example "
                                     "'gpt-4o-mini'.")

    validate_messages(body)
    names = validate_tools(body)
    validate_tool_choice(body, names)
    if "parallel_tool_calls" in body:
        check_boolean(body, "parallel_tool_calls")
        if not names:
            raise invalid_value("parallel_tool_calls", "Invalid value for 'parallel_tool_calls': "
                                                       "'parallel_tool_calls' is only allowed when "
                                                       "'tools' are specified.")
    validate_stream(body)
    validate_sampling(body)
    return names
