"""The "everything" MCP server: every fixture the official conformance suite expects.

Run over stdio:            python examples/mcp/everything.py
Run over Streamable HTTP:  python examples/mcp/everything.py --http --port 3000
                           (or: conduit mcp examples.mcp.everything:mcp --http --port 3000)

Fixtures follow the suite's reference server (modelcontextprotocol/conformance,
examples/servers/typescript) for both protocol eras: the tools, resources and prompts
named test_* / test://..., the 2026-07-28 multi-round-trip tools
(test_input_required_result_*), and the dynamic tool/resource/prompt added ~2 s after
start; test://watched-resource changes every 3 s.
"""

from __future__ import annotations

import sys
from typing import Any

import trio

from conduit.mcp import Context, InputRequest, MCPError, MCPServer, audio, embedded_resource, image, text

IMAGE_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
AUDIO_WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="

mcp = MCPServer("mcp-conformance-test-server", version="1.0.0",
                instructions="Conduit's conformance fixture server: test_* tools, test:// resources.")


# ------------------------------------------------------------------ tools: content
@mcp.tool(description="Tests simple text content response")
def test_simple_text() -> str:
    return "This is a simple text response for testing."


@mcp.tool(description="Tests image content response")
def test_image_content():
    return image(IMAGE_PNG, "image/png")


@mcp.tool(description="Tests audio content response")
def test_audio_content():
    return audio(AUDIO_WAV, "audio/wav")


@mcp.tool(description="Tests embedded resource content response")
def test_embedded_resource():
    return embedded_resource("test://embedded-resource", text="This is an embedded resource content.",
                             mime_type="text/plain")


@mcp.tool(description="Tests response with multiple content types (text, image, resource)")
def test_multiple_content_types():
    return [text("Multiple content types test:"), image(IMAGE_PNG, "image/png"),
            embedded_resource("test://mixed-content-resource", text='{"test":"data","value":123}',
                              mime_type="application/json")]


@mcp.tool(description="Tests tool that emits log messages during execution")
async def test_tool_with_logging(ctx: Context) -> str:
    await ctx.info("Tool execution started")
    await trio.sleep(0.05)
    await ctx.info("Tool processing data")
    await trio.sleep(0.05)
    await ctx.info("Tool execution completed")
    return "Tool with logging executed successfully"


@mcp.tool(description="Tests tool that reports progress notifications")
async def test_tool_with_progress(ctx: Context) -> str:
    for step in (0, 50, 100):
        await ctx.report_progress(step, 100, f"Completed step {step} of 100")
        if step < 100:
            await trio.sleep(0.05)
    token = ctx.meta.get("progressToken")
    return str(token if token is not None else 0)


@mcp.tool(description="Tests error response handling")
def test_error_handling() -> str:
    raise RuntimeError("This tool intentionally returns an error for testing")


@mcp.tool(description="Tests SSE stream disconnection and client reconnection (SEP-1699)")
async def test_reconnection() -> str:
    await trio.sleep(0.1)
    return "Reconnection test completed successfully."


# ------------------------------------------------------------------ tools: client input
@mcp.tool(description="Tests server-initiated sampling (LLM completion request)")
async def test_sampling(prompt: str, ctx: Context) -> str:
    """Ask the client's model.

    Args:
        prompt: The prompt to send to the LLM
    """
    result = await ctx.sample(prompt, max_tokens=100)
    content = result.get("content")
    reply = content.get("text") if isinstance(content, dict) else None
    return f"LLM response: {reply or 'No response'}"


_RESPONSE_SCHEMA = {"type": "object", "properties": {"response": {"type": "string", "description": "User's response"}},
                    "required": ["response"]}


@mcp.tool(description="Tests server-initiated elicitation (user input request)")
async def test_elicitation(message: str, ctx: Context) -> str:
    """Ask the user.

    Args:
        message: The message to show the user
    """
    result = await ctx.elicit(message, _RESPONSE_SCHEMA)
    return f"User response: action={result.get('action')}, content={_json(result.get('content') or {})}"


@mcp.tool(description="Tests elicitation with default values per SEP-1034")
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    schema = {"type": "object", "required": [], "properties": {
        "name": {"type": "string", "description": "User name", "default": "John Doe"},
        "age": {"type": "integer", "description": "User age", "default": 30},
        "score": {"type": "number", "description": "User score", "default": 95.5},
        "status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"],
                   "default": "active"},
        "verified": {"type": "boolean", "description": "Verification status", "default": True}}}
    result = await ctx.elicit("Please review and update the form fields with defaults", schema)
    return f"Elicitation completed: action={result.get('action')}, content={_json(result.get('content') or {})}"


@mcp.tool(description="Tests elicitation with enum schema improvements per SEP-1330")
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    titled = [{"const": f"value{i}", "title": t} for i, t in ((1, "First Option"), (2, "Second Option"),
                                                               (3, "Third Option"))]
    schema = {"type": "object", "required": [], "properties": {
        "untitledSingle": {"type": "string", "description": "Select one option",
                           "enum": ["option1", "option2", "option3"]},
        "titledSingle": {"type": "string", "description": "Select one option with titles", "oneOf": titled},
        "legacyEnum": {"type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"],
                       "enumNames": ["Option One", "Option Two", "Option Three"]},
        "untitledMulti": {"type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3,
                          "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
        "titledMulti": {"type": "array", "description": "Select multiple options with titles", "minItems": 1,
                        "maxItems": 3, "items": {"anyOf": [
                            {"const": f"value{i}", "title": t} for i, t in ((1, "First Choice"), (2, "Second Choice"),
                                                                           (3, "Third Choice"))]}}}}
    result = await ctx.elicit("Please select options from the enum fields", schema)
    return f"Elicitation completed: action={result.get('action')}, content={_json(result.get('content') or {})}"


@mcp.tool(description="Needs the sampling capability; clients that did not declare it get -32021")
async def test_missing_capability(ctx: Context) -> str:
    result = await ctx.sample("Say hello", max_tokens=10)
    return f"LLM response: {result.get('content')}"


JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
    "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                          "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"},
                   "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                   "phone": {"type": "string"}, "email": {"type": "string"}},
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]}, "else": {"required": ["email"]},
    "additionalProperties": False,
}


@mcp.tool(description="Tool with JSON Schema 2020-12 features", input_schema=JSON_SCHEMA_2020_12)
def json_schema_2020_12_tool(**arguments: Any) -> str:
    return f"JSON Schema 2020-12 tool called with: {_json(arguments)}"


# ------------------------------------------------------------------ tools: 2026-07-28 input_required
_NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


@mcp.tool(description="InputRequiredResult with one elicitation (SEP-2322)")
async def test_input_required_result_elicitation(ctx: Context) -> str:
    answer = await ctx.elicit("What is your name?", _NAME_SCHEMA, key="user_name")
    return f"Hello, {(answer.get('content') or {}).get('name', 'stranger')}!"


@mcp.tool(description="InputRequiredResult with one sampling request (SEP-2322)")
async def test_input_required_result_sampling(ctx: Context) -> str:
    answer = await ctx.sample("What is the capital of France?", max_tokens=100, key="capital_question")
    content = answer.get("content")
    return f"LLM response: {content.get('text') if isinstance(content, dict) else content}"


@mcp.tool(description="InputRequiredResult with roots/list (SEP-2322)")
async def test_input_required_result_list_roots(ctx: Context) -> str:
    roots = await ctx.list_roots(key="client_roots")
    return "Client roots: " + ", ".join(str(r.get("uri")) for r in roots)


@mcp.tool(description="InputRequiredResult whose requestState round-trips (SEP-2322)")
async def test_input_required_result_request_state(ctx: Context) -> str:
    ctx.state.setdefault("round", 1)
    answer = await ctx.elicit("Please confirm", {"type": "object", "properties": {"ok": {"type": "boolean"}},
                                                 "required": ["ok"]}, key="confirm")
    verified = ctx.state.get("round") == 1
    return f"{'state-ok' if verified else 'state-missing'}: confirmed={(answer.get('content') or {}).get('ok')}"


@mcp.tool(description="InputRequiredResult with elicitation, sampling and roots at once (SEP-2322)")
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    ctx.state["asked"] = True
    answers = await ctx.gather_inputs({
        "user_name": InputRequest.elicit("What is your name?", _NAME_SCHEMA),
        "greeting": InputRequest.sample("Generate a greeting", max_tokens=50),
        "client_roots": InputRequest.roots(),
    })
    return f"Received {len(answers)} inputs: {', '.join(sorted(answers))}"


@mcp.tool(description="Multi-round InputRequiredResult with evolving requestState (SEP-2322)")
async def test_input_required_result_multi_round(ctx: Context) -> str:
    first = await ctx.elicit("Step 1: What is your name?", _NAME_SCHEMA, key="step1")
    second = await ctx.elicit("Step 2: What is your favorite color?",
                              {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]},
                              key="step2")
    name = (first.get("content") or {}).get("name")
    color = (second.get("content") or {}).get("color")
    return f"Completed: name={name}, color={color}"


@mcp.tool(description="InputRequiredResult with integrity-protected requestState (SEP-2322)")
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    ctx.state["issued"] = True
    answer = await ctx.elicit("Please confirm", {"type": "object", "properties": {"ok": {"type": "boolean"}},
                                                 "required": ["ok"]}, key="confirm")
    return f"Confirmed: {(answer.get('content') or {}).get('ok')}"


@mcp.tool(description="Only asks for inputs the client declared capabilities for (SEP-2322)")
async def test_input_required_result_capabilities(ctx: Context) -> str:
    wanted = {}
    if ctx.client_supports("elicitation"):
        wanted["user_name"] = InputRequest.elicit("What is your name?", _NAME_SCHEMA)
    if ctx.client_supports("sampling"):
        wanted["greeting"] = InputRequest.sample("Generate a greeting", max_tokens=50)
    if ctx.client_supports("roots"):
        wanted["client_roots"] = InputRequest.roots()
    answers = await ctx.gather_inputs(wanted) if wanted else {}
    return f"Received inputs: {', '.join(sorted(answers)) or 'none'}"


# ------------------------------------------------------------------ tools: 2026-07-28 diagnostics
@mcp.tool(description="Asks for elicitation; in 2026-07-28 the answer is an input_required result on the stream")
async def test_streaming_elicitation(ctx: Context) -> str:
    answer = await ctx.elicit("What is your name?", _NAME_SCHEMA, key="user_name")
    return f"Hello, {(answer.get('content') or {}).get('name', 'stranger')}!"


@mcp.tool(description="Logs at several levels; nothing is sent unless the request set a log level")
async def test_logging_tool(ctx: Context) -> str:
    for level in ("debug", "info", "warning", "error"):
        await ctx.log(level, f"{level} message from test_logging_tool", logger="conformance")
    return "Logged at debug, info, warning and error"


_toggles = {"tool": False, "prompt": False}


def _trivial() -> str:
    return "temporary"


@mcp.tool(description="Adds or removes a temporary tool, so tools/list_changed fires")
def test_trigger_tool_change() -> str:
    _toggles["tool"] = not _toggles["tool"]
    if _toggles["tool"]:
        mcp.add_tool(_trivial, name="test_temporary_tool", description="Temporary tool")
    else:
        mcp.remove_tool("test_temporary_tool")
    return "tool list changed"


@mcp.tool(description="Adds or removes a temporary prompt, so prompts/list_changed fires")
def test_trigger_prompt_change() -> str:
    _toggles["prompt"] = not _toggles["prompt"]
    if _toggles["prompt"]:
        mcp.add_prompt(_trivial, name="test_temporary_prompt", description="Temporary prompt")
    else:
        mcp.remove_prompt("test_temporary_prompt")
    return "prompt list changed"


# ------------------------------------------------------------------ tools: tasks extension (SEP-2663)
@mcp.tool(description="Sync-only greeting (never a task)")
def greet(name: str) -> str:
    return f"Hello, {name}!"


@mcp.tool(description="Sleeps `seconds` seconds, then reports; runs as a task for clients that take one", task=True)
async def slow_compute(seconds: float = 1.0, label: str = "") -> str:
    await trio.sleep(max(0.0, min(seconds, 600.0)))
    return f"Computed {label or 'result'} after {seconds} s"


@mcp.tool(description="A task that always ends in a tool error after ~1 s", task="required")
async def failing_job() -> str:
    await trio.sleep(1)
    raise RuntimeError("failing_job failed on purpose")


@mcp.tool(description="A task whose work fails with a protocol-level error", task=True)
async def protocol_error_job() -> str:
    await trio.sleep(0.2)
    raise MCPError("protocol_error_job hit an internal failure", code=-32603)


_CONFIRM_SCHEMA = {"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}


@mcp.tool(description="Asks for confirmation (input_required), then completes", task=True)
async def confirm_delete(filename: str, ctx: Context) -> str:
    answer = await ctx.elicit(f"Delete {filename}?", _CONFIRM_SCHEMA, key="confirm")
    confirmed = (answer.get("content") or {}).get("confirm")
    return f"{'Deleted' if confirmed else 'Kept'} {filename}"


@mcp.tool(description="Asks for two inputs at once (two pending inputRequests)", task=True)
async def multi_input(ctx: Context) -> str:
    answers = await ctx.gather_inputs({
        "name": InputRequest.elicit("What is your name?", _NAME_SCHEMA),
        "confirm": InputRequest.elicit("Confirm?", _CONFIRM_SCHEMA),
    })
    return f"Received {len(answers)} answers: {', '.join(sorted(answers))}"


@mcp.tool(description="Gathers a name through input_required rounds, then continues as a task",
          task="required", task_start="explicit")
async def test_tool_with_task(ctx: Context) -> str:
    answer = await ctx.elicit("What is your name?", _NAME_SCHEMA, key="user_name")
    name = (answer.get("content") or {}).get("name", "stranger")
    await ctx.begin_task()
    await trio.sleep(0.2)
    return f"Task finished for {name}"


# ------------------------------------------------------------------ tools: Mcp-Param headers (SEP-2243)
_REGION_SCHEMA = {"type": "object", "properties": {
    "region": {"type": "string", "description": "Deployment region", "x-mcp-header": "Region"},
    "query": {"type": "string"}}, "required": ["region"]}


@mcp.tool(description="Routes on the region, mirrored in the Mcp-Param-Region header", input_schema=_REGION_SCHEMA)
def test_header_params(region: str, query: str = "") -> str:
    return f"region={region} query={query}"


# ------------------------------------------------------------------ resources
@mcp.resource("test://static-text", name="static-text", title="Static Text Resource",
              description="A static text resource for testing", mime_type="text/plain")
def static_text() -> str:
    return "This is the content of the static text resource."


@mcp.resource("test://static-binary", name="static-binary", title="Static Binary Resource",
              description="A static binary resource (image) for testing", mime_type="image/png")
def static_binary() -> bytes:
    import base64
    return base64.b64decode(IMAGE_PNG)


@mcp.resource("test://template/{id}/data", name="template", title="Resource Template",
              description="A resource template with parameter substitution", mime_type="application/json")
def template_data(id: str) -> dict[str, Any]:
    return {"id": id, "templateTest": True, "data": f"Data for ID: {id}"}


_watched = {"version": 0}


@mcp.resource("test://watched-resource", name="watched-resource", title="Watched Resource",
              description="A resource that auto-updates every 3 seconds", mime_type="text/plain")
def watched_resource() -> str:
    return f"Watched resource content (version {_watched['version']})"


# ------------------------------------------------------------------ prompts
@mcp.prompt(title="Simple Test Prompt", description="A simple prompt without arguments")
def test_simple_prompt() -> str:
    return "This is a simple prompt for testing."


@mcp.prompt(title="Prompt With Arguments", description="A prompt with required arguments")
def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    """Parameterised prompt.

    Args:
        arg1: First test argument
        arg2: Second test argument
    """
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@mcp.prompt(title="Prompt With Embedded Resource", description="A prompt that includes an embedded resource")
def test_prompt_with_embedded_resource(resourceUri: str) -> list:
    """Embeds a resource.

    Args:
        resourceUri: URI of the resource to embed
    """
    return [embedded_resource(resourceUri, text="Embedded resource content for testing.", mime_type="text/plain"),
            "Please process the embedded resource above."]


@mcp.prompt(title="Prompt With Image", description="A prompt that includes image content")
def test_prompt_with_image() -> list:
    return [image(IMAGE_PNG, "image/png"), "Please analyze the image above."]


@mcp.prompt(description="A prompt that asks the client for context first (SEP-2322)")
async def test_input_required_result_prompt(ctx: Context) -> str:
    answer = await ctx.elicit("What context should the prompt use?",
                              {"type": "object", "properties": {"context": {"type": "string"}},
                               "required": ["context"]}, key="user_context")
    return f"Prompt using context: {(answer.get('content') or {}).get('context')}"


# ------------------------------------------------------------------ completions
@mcp.completion("test_prompt_with_arguments", "arg1")
def complete_arg1(value: str, context: dict[str, str]) -> list[str]:
    return [v for v in ("paris", "park", "party", "test-value") if v.startswith(value)]


@mcp.completion("test://template/{id}/data", "id")
def complete_id(value: str, context: dict[str, str]) -> list[str]:
    return [v for v in ("1", "2", "3", "123") if v.startswith(value)]


# ------------------------------------------------------------------ dynamic behaviour
def _add_dynamic() -> None:
    @mcp.tool(description="A tool added dynamically after start")
    def test_dynamic_tool() -> str:
        return "This is a dynamically added tool."

    @mcp.resource("test://dynamic-resource", name="dynamic-resource", mime_type="text/plain",
                  description="A resource added dynamically after start")
    def dynamic_resource() -> str:
        return "This is a dynamically added resource."

    @mcp.prompt(description="A prompt added dynamically after start")
    def test_dynamic_prompt() -> str:
        return "This is a dynamically added prompt."


@mcp.background_task
async def background() -> None:
    """Add the dynamic fixtures after 2 s; update the watched resource every 3 s."""
    await trio.sleep(2)
    _add_dynamic()
    while True:
        await trio.sleep(1)
        _watched["version"] += 1
        if _watched["version"] % 3 == 0:
            mcp.notify_resource_updated("test://watched-resource")


def _json(value: Any) -> str:
    import json
    return json.dumps(value, separators=(",", ":"))


def main(argv: list[str] | None = None) -> int:
    from conduit.mcp.cli import main as cli_main
    return cli_main(["examples.mcp.everything:mcp", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.dirname(
        __import__("os").path.dirname(__import__("os").path.abspath(__file__)))))
    raise SystemExit(main())
