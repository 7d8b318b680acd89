"""Write tests/data/mcp/tool_catalogue.json: 1,000 MCP tools for measuring tool search.

``python scripts/generate_tool_catalogue.py`` (deterministic: the same file every run).
Forty services (issue trackers, chat, mail, storage, payments, infrastructure, travel,
...), each with a few resources, each resource with the actions that make sense for it.
A tool looks like one a real server publishes: ``jira_create_issue``, a title, a
one-sentence description naming the service and what the action does, and the input
schema's parameter names with short descriptions. Descriptions are written from fixed
templates; the held-out queries in ``tool_search_queries.json`` were written apart from
them, in the words a user would use, and are never fed back into this generator.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "mcp" / "tool_catalogue.json"

# service: (display name, what it is, {resource: (singular phrase, fields)})
SERVICES: dict[str, tuple[str, str, dict[str, tuple[str, list[str]]]]] = {
    "github": ("GitHub", "code hosting", {"issue": ("issue", ["title", "body", "labels"]),
                                          "pull_request": ("pull request", ["title", "head", "base"]),
                                          "repository": ("repository", ["name", "visibility"]),
                                          "release": ("release", ["tag", "notes"]),
                                          "workflow_run": ("workflow run", ["workflow", "branch"])}),
    "gitlab": ("GitLab", "code hosting", {"merge_request": ("merge request", ["title", "source_branch"]),
                                          "pipeline": ("CI pipeline", ["ref"]),
                                          "project": ("project", ["name", "namespace"])}),
    "jira": ("Jira", "issue tracking", {"issue": ("issue", ["summary", "description", "priority"]),
                                        "sprint": ("sprint", ["name", "goal"]),
                                        "board": ("board", ["name"]),
                                        "comment": ("comment on an issue", ["issue_key", "text"])}),
    "linear": ("Linear", "issue tracking", {"issue": ("issue", ["title", "team", "estimate"]),
                                            "cycle": ("cycle", ["team", "starts_at"]),
                                            "project": ("project", ["name", "lead"])}),
    "slack": ("Slack", "team chat", {"message": ("message", ["channel", "text"]),
                                     "channel": ("channel", ["name", "is_private"]),
                                     "reminder": ("reminder", ["text", "time"]),
                                     "user_status": ("user status", ["emoji", "status_text"])}),
    "teams": ("Microsoft Teams", "team chat", {"message": ("chat message", ["chat_id", "content"]),
                                               "meeting": ("online meeting", ["subject", "start_time"]),
                                               "team": ("team", ["display_name"])}),
    "gmail": ("Gmail", "email", {"message": ("email message", ["to", "subject", "body"]),
                                 "draft": ("draft email", ["to", "subject", "body"]),
                                 "label": ("mail label", ["name"]),
                                 "thread": ("conversation thread", ["query"])}),
    "outlook": ("Outlook", "email and calendar", {"mail": ("mail message", ["recipients", "subject"]),
                                                  "event": ("calendar event", ["subject", "start", "end"]),
                                                  "contact": ("contact", ["display_name", "email"])}),
    "calendar": ("Google Calendar", "scheduling", {"event": ("calendar event", ["summary", "start", "end",
                                                                               "attendees"]),
                                                   "calendar": ("calendar", ["summary", "time_zone"]),
                                                   "availability": ("free/busy availability",
                                                                    ["attendees", "window"])}),
    "drive": ("Google Drive", "file storage", {"file": ("file", ["name", "folder_id"]),
                                               "folder": ("folder", ["name", "parent_id"]),
                                               "permission": ("sharing permission", ["file_id", "email",
                                                                                     "role"])}),
    "dropbox": ("Dropbox", "file storage", {"file": ("file", ["path"]),
                                            "shared_link": ("shared link", ["path", "expires"])}),
    "s3": ("Amazon S3", "object storage", {"bucket": ("bucket", ["bucket_name", "region"]),
                                           "object": ("object", ["bucket_name", "key"])}),
    "notion": ("Notion", "notes and wikis", {"page": ("page", ["title", "parent_id"]),
                                             "database": ("database", ["title"]),
                                             "block": ("content block", ["page_id", "content"])}),
    "confluence": ("Confluence", "team wiki", {"page": ("wiki page", ["space", "title", "body"]),
                                               "space": ("space", ["key", "name"])}),
    "trello": ("Trello", "kanban boards", {"card": ("card", ["list_id", "name", "due"]),
                                           "board": ("board", ["name"]),
                                           "checklist": ("checklist", ["card_id", "name"])}),
    "asana": ("Asana", "project management", {"task": ("task", ["name", "assignee", "due_on"]),
                                              "project": ("project", ["name", "team"]),
                                              "section": ("section", ["project_id", "name"])}),
    "salesforce": ("Salesforce", "CRM", {"lead": ("sales lead", ["company", "last_name", "email"]),
                                         "opportunity": ("opportunity", ["name", "amount", "stage"]),
                                         "account": ("customer account", ["name", "industry"]),
                                         "contact": ("contact", ["first_name", "last_name", "email"])}),
    "hubspot": ("HubSpot", "CRM and marketing", {"contact": ("contact", ["email", "firstname"]),
                                                 "deal": ("deal", ["dealname", "amount"]),
                                                 "campaign": ("marketing campaign", ["name"])}),
    "zendesk": ("Zendesk", "customer support", {"ticket": ("support ticket", ["subject", "requester",
                                                                              "priority"]),
                                                "macro": ("macro", ["title"]),
                                                "article": ("help center article", ["title", "body"])}),
    "intercom": ("Intercom", "customer messaging", {"conversation": ("customer conversation",
                                                                     ["contact_id", "body"]),
                                                    "contact": ("contact", ["email", "name"])}),
    "stripe": ("Stripe", "payments", {"payment_intent": ("payment", ["amount", "currency", "customer"]),
                                      "refund": ("refund", ["payment_intent", "amount"]),
                                      "customer": ("customer", ["email", "name"]),
                                      "subscription": ("subscription", ["customer", "price"]),
                                      "invoice": ("invoice", ["customer", "due_date"])}),
    "paypal": ("PayPal", "payments", {"payout": ("payout", ["receiver", "amount"]),
                                      "order": ("order", ["amount", "currency"])}),
    "shopify": ("Shopify", "e-commerce", {"product": ("product", ["title", "price", "inventory"]),
                                          "order": ("order", ["customer", "line_items"]),
                                          "discount": ("discount code", ["code", "percentage"]),
                                          "fulfillment": ("fulfillment", ["order_id", "tracking_number"])}),
    "quickbooks": ("QuickBooks", "accounting", {"invoice": ("invoice", ["customer", "amount"]),
                                                "expense": ("expense", ["vendor", "amount", "category"]),
                                                "report": ("financial report", ["report_type", "period"])}),
    "twilio": ("Twilio", "SMS and voice", {"sms": ("SMS text message", ["to", "body"]),
                                           "call": ("phone call", ["to", "twiml"])}),
    "sendgrid": ("SendGrid", "transactional email", {"email": ("email", ["to", "template_id"]),
                                                      "template": ("email template", ["name"])}),
    "aws_ec2": ("Amazon EC2", "virtual machines", {"instance": ("virtual machine instance",
                                                                ["instance_type", "image_id"]),
                                                   "security_group": ("security group", ["name", "rules"])}),
    "kubernetes": ("Kubernetes", "container orchestration", {"pod": ("pod", ["namespace", "name"]),
                                                             "deployment": ("deployment", ["namespace", "replicas"]),
                                                             "service": ("service", ["namespace", "port"])}),
    "docker": ("Docker", "containers", {"container": ("container", ["image", "name"]),
                                        "image": ("image", ["repository", "tag"])}),
    "postgres": ("PostgreSQL", "relational database", {"query": ("SQL query", ["sql"]),
                                                       "table": ("table", ["schema", "table_name"]),
                                                       "backup": ("database backup", ["database"])}),
    "mongodb": ("MongoDB", "document database", {"document": ("document", ["collection", "filter"]),
                                                 "collection": ("collection", ["name"])}),
    "redis": ("Redis", "key-value store", {"key": ("key", ["key", "value", "ttl"])}),
    "pagerduty": ("PagerDuty", "incident response", {"incident": ("incident", ["service", "title",
                                                                               "urgency"]),
                                                     "schedule": ("on-call schedule", ["schedule_id"])}),
    "datadog": ("Datadog", "monitoring", {"monitor": ("monitor", ["query", "threshold"]),
                                          "dashboard": ("dashboard", ["title"]),
                                          "metric": ("metric series", ["metric", "from", "to"])}),
    "sentry": ("Sentry", "error tracking", {"issue": ("error issue", ["project", "status"]),
                                            "release": ("release", ["version"])}),
    "weather": ("OpenWeather", "weather data", {"forecast": ("weather forecast", ["city", "days"]),
                                                "current": ("current conditions", ["city", "units"]),
                                                "alert": ("severe weather alert", ["region"])}),
    "maps": ("Google Maps", "maps and places", {"route": ("driving route", ["origin", "destination",
                                                                           "mode"]),
                                                "place": ("place", ["query", "location"]),
                                                "geocode": ("address geocode", ["address"])}),
    "flights": ("Amadeus Flights", "air travel", {"flight": ("flight offer", ["origin", "destination",
                                                                             "date"]),
                                                  "booking": ("flight booking", ["offer_id", "passengers"])}),
    "hotels": ("Booking Hotels", "lodging", {"hotel": ("hotel", ["city", "check_in", "check_out"]),
                                             "reservation": ("hotel reservation", ["hotel_id", "guests"])}),
    "spotify": ("Spotify", "music streaming", {"playlist": ("playlist", ["name", "tracks"]),
                                               "track": ("track", ["query"]),
                                               "playback": ("playback", ["device_id"])}),
}

# action: (verb phrase template, applies to every resource?)
ACTIONS = {
    "list": "List {plural} in {service}, newest first, with optional filters.",
    "get": "Get one {singular} from {service} by its id, with all its fields.",
    "create": "Create a new {singular} in {service}.",
    "update": "Update the fields of an existing {singular} in {service}.",
    "delete": "Delete a {singular} from {service} permanently.",
    "search": "Search {plural} in {service} by free-text query.",
    "archive": "Archive a {singular} in {service} so it no longer shows up by default.",
    "export": "Export {plural} from {service} as CSV or JSON.",
    "count": "Count {plural} in {service} that match a filter.",
    "restore": "Restore a deleted or archived {singular} in {service}.",
    "watch": "Subscribe to changes of a {singular} in {service} and get notified.",
    "share": "Share a {singular} from {service} with other people.",
}


def _plural(phrase: str) -> str:
    head, _, rest = phrase.partition(" on ")
    word = head.rsplit(" ", 1)
    last = word[-1]
    last = last[:-1] + "ies" if last.endswith("y") and last[-2] not in "aeiou" else \
        last + "es" if last.endswith(("s", "x", "ch", "sh")) else last + "s"
    plural = " ".join(word[:-1] + [last])
    return plural + (" on " + rest if rest else "")


def catalogue(size: int = 1000, seed: int = 21) -> list[dict]:
    rng = random.Random(seed)
    tools = []
    for service, (display, kind, resources) in SERVICES.items():
        for resource, (singular, fields) in resources.items():
            for action, template in ACTIONS.items():
                name = f"{service}_{action}_{resource}"
                description = template.format(singular=singular, plural=_plural(singular),
                                              service=display) + f" ({display}: {kind}.)"
                properties: dict[str, dict] = {}
                required: list[str] = []
                if action in ("get", "update", "delete", "archive", "restore", "watch", "share"):
                    properties[f"{resource}_id"] = {"type": "string", "description": f"The {singular}'s id."}
                    required.append(f"{resource}_id")
                if action in ("create", "update"):
                    for field in fields:
                        properties[field] = {"type": "string", "description": f"The {field.replace('_', ' ')}."}
                    if action == "create":
                        required.append(fields[0])
                if action in ("list", "search", "export", "count"):
                    properties["query" if action == "search" else "filter"] = {
                        "type": "string", "description": "Free text." if action == "search" else "A filter."}
                    if action != "count":
                        properties["limit"] = {"type": "integer", "description": "At most this many."}
                if action == "share":
                    properties["email"] = {"type": "string", "description": "Who to share with."}
                tools.append({"name": name, "title": f"{action.title()} {singular} ({display})",
                              "description": description,
                              "inputSchema": {"type": "object", "properties": properties, "required": required}})
    rng.shuffle(tools)
    if len(tools) < size:
        raise SystemExit(f"only {len(tools)} tools; add services")
    return sorted(tools[:size], key=lambda t: t["name"])


if __name__ == "__main__":
    tools = catalogue()
    OUT.write_text("[\n" + ",\n".join(json.dumps(t, separators=(",", ":")) for t in tools) + "\n]\n")
    print(f"wrote {len(tools)} tools to {OUT}")
