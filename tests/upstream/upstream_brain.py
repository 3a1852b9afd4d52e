"""The test upstream's deterministic stand-in for the model.

decide() reads a validated chat completions request and returns what the
model answers: text, or tool calls. The rules, in order:

1. When the last messages are tool results, it answers in text that
   summarises them: dishes with prices, a reservation's code, time and party
   size, available times, or the error message the tool returned.
2. When the request has tools, it reads the guest's messages:
   - with create_reservation: party size, date (YYYY-MM-DD), time (HH:MM or
     7pm), name and phone are collected from all user messages, the latest
     mention winning. With all five it calls create_reservation, unless an
     earlier call in the conversation had the same arguments. With some of
     them it asks for the rest. "cancel" or "find my"/"my booking" in the last
     user message, with a code and a phone, calls cancel_reservation or
     find_reservation; "available" with a date and a party size calls
     check_availability.
   - with search_menu or opening_hours: diet words (vegan, gluten-free, ...),
     courses (starters, mains, ...) and "under N" in the last user message
     become search_menu arguments, and "open"/"hours" calls opening_hours.
     Only the last user message counts, so a "thank you" after an answer
     does not repeat the search. Asking for both gives two parallel tool
     calls.
3. Otherwise it answers with a short greeting.
tool_choice and parallel_tool_calls are obeyed.
"""

import json
import re
from dataclasses import dataclass, field

TAG_WORDS = {
    "vegan": "vegan",
    "vegetarian": "vegetarian",
    "gluten-free": "gluten_free", "gluten free": "gluten_free",
    "dairy-free": "dairy_free", "dairy free": "dairy_free",
    "nut-free": "nut_free", "nut free": "nut_free",
    "spicy": "spicy",
}
CATEGORY_WORDS = {
    "starter": "starter", "appetizer": "starter", "main course": "main", "main": "main",
    "dessert": "dessert", "drink": "drink", "beverage": "drink",
}
MENU_WORDS = ("menu", "dish", "eat", "food", "serve")
HOURS_WORDS = ("open", "hours", "close")
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}

PARTY_PATTERNS = (
    re.compile(r"\b(?:table|party|booking|reservation)?\s*for\s+(\d{1,2})(?![\d:/-])\b", re.I),
    re.compile(r"\b(\d{1,2})\s+(?:people|persons|guests|adults|of us)\b", re.I),
    re.compile(r"\bparty of\s+(\d{1,2})\b", re.I),
    re.compile(r"\bfor\s+(" + "|".join(NUMBER_WORDS) + r")\b", re.I),
    re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\s+(?:people|persons|guests|of us)\b", re.I),
)
DATE_PATTERN = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
TIME_PATTERN = re.compile(r"(?<![\d:+-])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
TIME_12H_PATTERN = re.compile(r"\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*(am|pm)\b", re.I)
PHONE_PATTERN = re.compile(r"\+\d[\d ]{5,}\d")
NAME_PATTERN = re.compile(
    r"\b(?:[Mm]y name is|[Nn]ame is|[Nn]ame's|I am|I'm|[Tt]his is)\s+"
    r"([A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*){0,3})")
CODE_AFTER_WORD = re.compile(r"\bcode(?:\s+is)?\s*:?\s*([A-Za-z0-9]{4,16})\b", re.I)
CODE_TOKEN = re.compile(r"\b(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)[A-Z0-9]{6,12}\b")
PRICE_PATTERN = re.compile(r"\b(?:under|below|less than|max(?:imum)?)\s*(?:€|eur\s*)?(\d+(?:[.,]\d{1,2})?)", re.I)

BOOKING_FIELDS = ("party_size", "date", "time", "name", "phone")
FIELD_WORDS = {
    "party_size": "the number of guests",
    "date": "the date (YYYY-MM-DD)",
    "time": "the time (HH:MM)",
    "name": "your name",
    "phone": "a phone number with its country code, like +33 1 23 45 67 89",
}

GREETING = ("Hello! I can tell you about our menu and opening hours, and I can check "
            "availability and book, find or cancel a table. What would you like to know?")


@dataclass
class Reply:
    """What the model answers: text, or tool calls as (name, arguments) pairs."""
    text: str | None = None
    calls: list = field(default_factory=list)


def message_text(message):
    """Return the text of a message's content, a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def user_texts(messages):
    return [message_text(m) for m in messages if m.get("role") == "user"]


def join_words(words):
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# ---- Tool results ----

def trailing_tool_results(messages):
    """Return (tool name, parsed content) for the tool messages that end the conversation."""
    names = {}
    for m in messages:
        for call in m.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
    results = []
    for m in reversed(messages):
        if m.get("role") != "tool":
            break
        text = message_text(m)
        try:
            content = json.loads(text)
        except ValueError:
            content = text
        results.append((names.get(m.get("tool_call_id"), ""), content))
    return list(reversed(results))


def describe_dish(dish):
    price = dish.get("price")
    if price is None:
        return str(dish.get("name", "a dish"))
    return f"{dish.get('name', 'a dish')} ({price} {dish.get('currency', 'EUR')})"


def describe_reservation(tool, reservation):
    code = reservation.get("code")
    party = reservation.get("party_size")
    starts_at = reservation.get("starts_at")
    if tool == "cancel_reservation" or reservation.get("status") == "cancelled":
        return f"Your reservation {code} for {party} on {starts_at} is cancelled."
    if tool == "find_reservation":
        return f"I found your reservation: code {code} for {party} on {starts_at}."
    return f"Your table is booked: code {code} for {party} on {starts_at}."


def describe_availability(result):
    times = [s.get("starts_at", "")[11:16] for s in result.get("slots", [])
             if isinstance(s, dict) and s.get("available")]
    date = result.get("date", "that day")
    party = result.get("party_size", "your party")
    if not times:
        return f"Sorry, we have no table for {party} on {date}."
    return f"On {date} we have a table for {party} at {join_words(times[:6])}."


def describe_error(error):
    message = error.get("message") if isinstance(error, dict) else str(error)
    text = f"Sorry, I could not do that: {message}"
    nearest = error.get("nearest_slots") if isinstance(error, dict) else None
    if isinstance(nearest, list) and nearest:
        times = [str(s.get("starts_at", s)) if isinstance(s, dict) else str(s) for s in nearest[:3]]
        text += f" The nearest free times are {join_words(times)}."
    return text


def describe_result(tool, result):
    if not isinstance(result, dict):
        return f"Here is what I found: {result}"
    if "error" in result:
        return describe_error(result["error"])
    if isinstance(result.get("items"), list):
        dishes = [describe_dish(d) for d in result["items"] if isinstance(d, dict)]
        if not dishes:
            return "I could not find a dish that matches. Would you like something else?"
        return "We have: " + ", ".join(dishes) + "."
    if "code" in result and "starts_at" in result:
        return describe_reservation(tool, result)
    if isinstance(result.get("slots"), list):
        return describe_availability(result)
    if tool == "opening_hours":
        return "Here are our opening hours: " + json.dumps(result, ensure_ascii=False)
    return "Here is what I found: " + json.dumps(result, ensure_ascii=False)


def summarise_tool_results(messages):
    return " ".join(describe_result(tool, result)
                    for tool, result in trailing_tool_results(messages))


# ---- Menu and opening hours ----

def first_position(text, words):
    positions = [text.find(w) for w in words if w in text]
    return min(positions) if positions else -1


def menu_arguments(text):
    """Return (position of the first menu word, search_menu arguments), or (-1, None)."""
    lower = text.lower()
    args = {}
    tags = [tag for word, tag in TAG_WORDS.items() if word in lower]
    if tags:
        args["tags"] = sorted(set(tags))
    for word, category in CATEGORY_WORDS.items():
        if re.search(r"\b" + word + r"s?\b", lower):
            args["category"] = category
            break
    price = PRICE_PATTERN.search(text)
    if price:
        args["max_price"] = f"{float(price.group(1).replace(',', '.')):.2f}"
    words = list(TAG_WORDS) + list(CATEGORY_WORDS) + list(MENU_WORDS)
    position = first_position(lower, words)
    if not args and position < 0:
        return -1, None
    return max(position, 0), args


def food_calls(text, tools):
    calls = []
    lower = text.lower()
    hours_at = first_position(lower, HOURS_WORDS)
    if hours_at >= 0 and "opening_hours" in tools:
        date = DATE_PATTERN.search(text)
        calls.append((hours_at, "opening_hours", {"date": date.group(1)} if date else {}))
    menu_at, args = menu_arguments(text)
    if args is not None and "search_menu" in tools:
        calls.append((menu_at, "search_menu", args))
    calls.sort(key=lambda c: c[0])
    return [(name, args) for _, name, args in calls]


# ---- Bookings ----

def find_party_size(text):
    for pattern in PARTY_PATTERNS:
        match = pattern.search(text)
        if match:
            value = match.group(1).lower()
            return NUMBER_WORDS.get(value) or int(value)
    return None


def find_time(text):
    match = TIME_PATTERN.search(text)
    if match:
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    match = TIME_12H_PATTERN.search(text)
    if match:
        hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "pm" else 0)
        return f"{hour:02d}:{match.group(2) or '00'}"
    return None


def find_code(text):
    match = CODE_AFTER_WORD.search(text)
    # maitred's codes are 9 capitals and digits; about 7 % of them have no
    # digit, so a capitalised 9-letter word after "code" counts too.
    if match and (re.search(r"\d", match.group(1)) or
                  (len(match.group(1)) == 9 and match.group(1).isupper())):
        return match.group(1).upper()
    match = CODE_TOKEN.search(text)
    return match.group(0) if match else None


def first_group(pattern, text, group=1):
    match = pattern.search(text)
    return match.group(group) if match else None


def booking_details(texts):
    """Collect the booking fields from the guest's messages. Later mentions win."""
    details = {}
    for text in texts:
        found = {
            "party_size": find_party_size(text),
            "date": first_group(DATE_PATTERN, text),
            "time": find_time(text),
            "name": first_group(NAME_PATTERN, text),
            "phone": first_group(PHONE_PATTERN, text, 0),
            "code": find_code(text),
        }
        details.update({k: v for k, v in found.items() if v is not None})
    return details


def earlier_call(messages, name, args):
    for m in messages:
        for call in m.get("tool_calls") or []:
            if call["function"]["name"] != name:
                continue
            try:
                if json.loads(call["function"]["arguments"]) == args:
                    return True
            except ValueError:
                continue
    return False


def ask_for_missing(details):
    missing = [FIELD_WORDS[f] for f in BOOKING_FIELDS if f not in details]
    return f"I would be happy to book a table. I still need {join_words(missing)}."


def booking_reply(messages, tools):
    """Return the Reply for a booking conversation, or None when it is not one."""
    texts = user_texts(messages)
    last = texts[-1].lower() if texts else ""
    details = booking_details(texts)
    has_code_and_phone = "code" in details and "phone" in details

    for verb, tool in (("cancel", "cancel_reservation"), ("find my", "find_reservation"),
                       ("look up", "find_reservation"), ("my booking", "find_reservation"),
                       ("my reservation", "find_reservation")):
        if verb in last and tool in tools:
            if not has_code_and_phone:
                return Reply(text="I need your reservation code and the phone number you booked with.")
            return Reply(calls=[(tool, {"code": details["code"], "phone": details["phone"]})])

    if all(f in details for f in BOOKING_FIELDS):
        args = {"name": details["name"], "phone": details["phone"],
                "party_size": details["party_size"], "date": details["date"], "time": details["time"]}
        if not earlier_call(messages, "create_reservation", args):
            return Reply(calls=[("create_reservation", args)])
        return None

    if "availab" in last and "check_availability" in tools and "date" in details and "party_size" in details:
        args = {"date": details["date"], "party_size": details["party_size"]}
        if "time" in details:
            args["time"] = details["time"]
        return Reply(calls=[("check_availability", args)])

    wants_booking = any(w in last for w in ("book", "reserv", "table"))
    if wants_booking or any(f in details for f in BOOKING_FIELDS):
        return Reply(text=ask_for_missing(details))
    return None


# ---- Decision ----

def apply_tool_choice(reply, request, tools):
    choice = request.get("tool_choice", "auto")
    if choice == "none":
        return Reply(text=reply.text or GREETING)
    if isinstance(choice, dict):
        name = choice["function"]["name"]
        chosen = [c for c in reply.calls if c[0] == name]
        return Reply(calls=chosen[:1] or [(name, {})])
    if choice == "required" and not reply.calls:
        return Reply(calls=[(tools[0], {})])
    if request.get("parallel_tool_calls") is False and len(reply.calls) > 1:
        return Reply(calls=reply.calls[:1])
    return reply


def decide(request, tools):
    """Return the Reply for a validated request whose tools are named in tools."""
    messages = request["messages"]
    if messages[-1].get("role") == "tool":
        return Reply(text=summarise_tool_results(messages))
    if not tools:
        return Reply(text=GREETING)

    reply = None
    if "create_reservation" in tools:
        reply = booking_reply(messages, tools)
    if reply is None:
        texts = user_texts(messages)
        calls = food_calls(texts[-1] if texts else "", tools)
        reply = Reply(calls=calls) if calls else Reply(text=GREETING)
    return apply_tool_choice(reply, request, tools)
