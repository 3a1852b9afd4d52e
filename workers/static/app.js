/* The guests' chat page. It sends each message to POST /v1/chat, reads the
 * reply as Server-Sent Events through fetch() (EventSource cannot POST),
 * and draws it as it arrives. Server text only ever reaches the page through
 * textContent, never as HTML. */
(function () {
	'use strict';

	const STORE_KEY = 'maitred.chat.v1';
	const STORED_MESSAGES_MAX = 200;
	const MESSAGE_MAX_CHARS = 2000;
	const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

	/* The server sends a keep-alive comment at least every 15 s, so three
	 * missed ones mean the connection is dead even if TCP has not noticed. */
	const STALL_TIMEOUT_MS = 45000;
	const RESUME_DELAYS_MS = [1000, 2000, 4000];
	const ONLINE_WAIT_MS = 60000;
	const AUTO_RETRY_MAX = 5;
	const RETRY_AFTER_DEFAULT_S = 5;
	const RETRY_AFTER_MAX_S = 300;
	const SCROLL_STICK_PX = 120;

	const AGENT_LABELS = { food: 'Food Agent', booking: 'Booking Agent' };
	const TOOL_ACTIVITY = {
		search_menu: 'Looking through the menu…',
		get_dish: 'Looking up that dish…',
		opening_hours: 'Checking our opening hours…',
		restaurant_info: 'Looking that up…',
		check_availability: 'Checking the tables…',
		create_reservation: 'Booking your table…',
		find_reservation: 'Finding your booking…',
		cancel_reservation: 'Cancelling your booking…',
	};

	const site = { name: '', timezone: '', color: '#7a2e2e' };
	const state = {
		sessionId: null,
		items: [],
		turn: null,
		/* Phone numbers the guest typed since the page loaded, so a Cancel
		 * needs no second typing. Kept in memory only, never stored. */
		phones: [],
		/* Unknown until a dropped stream has been retried once. */
		resumeSupported: null,
		/* False until site.json is read, so times show in the right zone. */
		ready: false,
	};
	const views = new Map();
	const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)');

	let el = {};

	/* ---- small helpers ---- */

	function make(tag, className, text) {
		const node = document.createElement(tag);
		if (className)
			node.className = className;
		if (text !== undefined)
			node.textContent = text;
		return node;
	}

	function sleep(ms, signal) {
		return new Promise(function (resolve) {
			const timer = setTimeout(resolve, ms);
			if (signal)
				signal.addEventListener('abort', function () {
					clearTimeout(timer);
					resolve();
				}, { once: true });
		});
	}

	function codePointLength(text) {
		return Array.from(text).length;
	}

	function announce(text) {
		/* Clearing first makes screen readers announce a repeated text too. */
		el.live.textContent = '';
		setTimeout(function () {
			el.live.textContent = text;
		}, 50);
	}

	function isObject(value) {
		return value !== null && typeof value === 'object' && !Array.isArray(value);
	}

	/* ---- storage ---- */

	function storedItem(item) {
		if (item.role === 'guest')
			return { role: 'guest', text: item.text };
		const saved = { role: 'agent', text: item.text, agent: item.agent, state: item.state };
		if (item.state === 'streaming' || item.state === 'waiting') {
			saved.state = 'interrupted';
			saved.note = 'This answer was cut off when the page closed.';
		} else if (item.note) {
			saved.note = item.note;
		}
		if (item.reservation)
			saved.reservation = item.reservation;
		return saved;
	}

	function saveStore() {
		const items = state.items.slice(-STORED_MESSAGES_MAX).map(storedItem);
		try {
			localStorage.setItem(STORE_KEY, JSON.stringify({ session_id: state.sessionId, items: items }));
		} catch (err) {
			/* In private mode or with a full quota the chat still works, but it is not kept. */
			console.warn('cannot save the conversation in localStorage:', err);
		}
	}

	function validStoredItem(item) {
		if (!isObject(item) || typeof item.text !== 'string')
			return false;
		if (item.role === 'guest')
			return true;
		return item.role === 'agent' && ['done', 'error', 'interrupted'].includes(item.state);
	}

	function loadStore() {
		let data = null;
		try {
			data = JSON.parse(localStorage.getItem(STORE_KEY) || 'null');
		} catch (err) {
			console.warn('ignoring an unreadable saved conversation:', err);
		}
		if (!isObject(data))
			return;
		if (typeof data.session_id === 'string' && SESSION_ID_PATTERN.test(data.session_id))
			state.sessionId = data.session_id;
		if (!Array.isArray(data.items))
			return;
		state.items = data.items.filter(validStoredItem).map(function (item) {
			const copy = { role: item.role, text: item.text };
			if (item.role === 'agent') {
				copy.agent = item.agent === 'booking' ? 'booking' : 'food';
				copy.state = item.state;
				copy.note = typeof item.note === 'string' ? item.note : '';
				if (validReservation(item.reservation))
					copy.reservation = item.reservation;
			}
			return copy;
		});
	}

	function clearStore() {
		try {
			localStorage.removeItem(STORE_KEY);
		} catch (err) {
			console.warn('cannot clear the saved conversation:', err);
		}
	}

	/* ---- restaurant name, colour and time zone ---- */

	function hexToRgb(hex) {
		const n = parseInt(hex.slice(1), 16);
		return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
	}

	function rgbToHex(rgb) {
		return '#' + rgb.map(function (c) {
			return Math.round(c).toString(16).padStart(2, '0');
		}).join('');
	}

	/* Relative luminance as WCAG 2 defines it. */
	function luminance(hex) {
		const linear = hexToRgb(hex).map(function (c) {
			const s = c / 255;
			return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
		});
		return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
	}

	function contrastRatio(a, b) {
		const la = luminance(a), lb = luminance(b);
		return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
	}

	function darken(hex, amount) {
		return rgbToHex(hexToRgb(hex).map(function (c) {
			return c * (1 - amount);
		}));
	}

	/* Sets the brand colour, a text colour that reads on it, and a darker
	 * shade for brand-coloured text on the light page, so that any
	 * BRAND_COLOR keeps WCAG AA contrast (4.5:1). */
	function applyBrandColor(color) {
		const root = document.documentElement.style;
		const onBrand = contrastRatio(color, '#ffffff') >= contrastRatio(color, '#1b1714') ? '#ffffff' : '#1b1714';
		let ink = color;
		for (let step = 0; step < 20 && contrastRatio(ink, '#f7f4f0') < 4.5; step++)
			ink = darken(ink, 0.1);
		root.setProperty('--brand', color);
		root.setProperty('--on-brand', onBrand);
		root.setProperty('--brand-ink', ink);
		const meta = document.querySelector('meta[name="theme-color"]');
		if (meta)
			meta.setAttribute('content', color);
	}

	function validTimeZone(zone) {
		try {
			new Intl.DateTimeFormat('en', { timeZone: zone });
			return true;
		} catch (err) {
			return false;
		}
	}

	async function loadSite() {
		let data = null;
		try {
			const response = await fetch('/static/site.json', { cache: 'no-cache' });
			if (response.ok)
				data = await response.json();
		} catch (err) {
			console.warn('cannot load /static/site.json; using the defaults:', err);
		}
		if (!isObject(data))
			data = {};
		if (typeof data.name === 'string' && data.name.trim())
			site.name = data.name.trim();
		if (typeof data.primary_color === 'string' && /^#[0-9a-fA-F]{6}$/.test(data.primary_color))
			site.color = data.primary_color;
		if (typeof data.timezone === 'string' && validTimeZone(data.timezone))
			site.timezone = data.timezone;

		applyBrandColor(site.color);
		if (site.name) {
			el.name.textContent = site.name;
			el.welcomeTitle.textContent = 'Welcome to ' + site.name;
			document.title = 'Chat with ' + site.name;
		}
	}

	/* ---- Server-Sent Events parser (the WHATWG HTML event stream format) ---- */

	/* Returns a parser that takes decoded text in any chunks and calls
	 * onEvent({type, data, id}) for each complete event. Comments, unknown
	 * fields and an unfinished event at the end are dropped, as the
	 * standard specifies. */
	function createSseParser(onEvent) {
		let buffer = '';
		let afterCr = false;
		let type = '';
		let data = [];
		let lastId = '';

		function dispatch() {
			if (data.length) {
				onEvent({ type: type || 'message', data: data.join('\n'), id: lastId });
			}
			type = '';
			data = [];
		}

		function processLine(line) {
			if (line === '') {
				dispatch();
				return;
			}
			if (line[0] === ':')
				return;
			const colon = line.indexOf(':');
			const field = colon < 0 ? line : line.slice(0, colon);
			let value = colon < 0 ? '' : line.slice(colon + 1);
			if (value[0] === ' ')
				value = value.slice(1);
			if (field === 'event')
				type = value;
			else if (field === 'data')
				data.push(value);
			else if (field === 'id' && !value.includes('\0'))
				lastId = value;
		}

		return {
			push: function (text) {
				/* A CR at the end of the previous chunk and an LF at the
				 * start of this one are one CRLF line end. */
				if (afterCr && text[0] === '\n')
					text = text.slice(1);
				afterCr = false;
				buffer += text;
				let start = 0;
				for (let i = 0; i < buffer.length; i++) {
					const c = buffer[i];
					if (c !== '\n' && c !== '\r')
						continue;
					processLine(buffer.slice(start, i));
					if (c === '\r') {
						if (i + 1 === buffer.length)
							afterCr = true;
						else if (buffer[i + 1] === '\n')
							i++;
					}
					start = i + 1;
				}
				buffer = buffer.slice(start);
			},
		};
	}

	/* ---- message text ---- */

	/* Appends inline text with **bold** spans, as models often write. */
	function appendInline(parent, text) {
		const parts = text.split(/\*\*(?=\S)(.+?)(?<=\S)\*\*/);
		parts.forEach(function (part, i) {
			if (!part)
				return;
			if (i % 2 === 1)
				parent.appendChild(make('strong', '', part));
			else
				parent.appendChild(document.createTextNode(part));
		});
	}

	function appendLines(parent, lines) {
		lines.forEach(function (line, i) {
			if (i > 0)
				parent.appendChild(document.createElement('br'));
			appendInline(parent, line);
		});
	}

	/* Draws text as paragraphs and simple lists, built from DOM nodes so
	 * that nothing in it can become markup. */
	function renderRichText(container, text) {
		container.replaceChildren();
		const blocks = text.split(/\n\s*\n/);
		blocks.forEach(function (block) {
			const lines = block.split('\n').filter(function (line) {
				return line.trim() !== '';
			});
			if (!lines.length)
				return;
			const bullet = /^\s*[-*•]\s+/;
			const numbered = /^\s*\d+[.)]\s+/;
			if (lines.every(function (l) { return bullet.test(l); }) ||
			    lines.every(function (l) { return numbered.test(l); })) {
				const list = make(bullet.test(lines[0]) ? 'ul' : 'ol');
				lines.forEach(function (line) {
					const li = make('li');
					appendInline(li, line.replace(bullet, '').replace(numbered, ''));
					list.appendChild(li);
				});
				container.appendChild(list);
				return;
			}
			const p = make('p');
			appendLines(p, lines);
			container.appendChild(p);
		});
	}

	/* ---- drawing the conversation ---- */

	function isNearBottom() {
		const box = el.main;
		return box.scrollHeight - box.scrollTop - box.clientHeight < SCROLL_STICK_PX;
	}

	function scrollToEnd(force) {
		if (force || isNearBottom())
			el.main.scrollTop = el.main.scrollHeight;
	}

	function updateWelcome() {
		el.welcome.hidden = state.items.length > 0;
	}

	function lastAgentItem() {
		for (let i = state.items.length - 1; i >= 0; i--)
			if (state.items[i].role === 'agent')
				return state.items[i];
		return null;
	}

	function guestTextBefore(item) {
		const index = state.items.indexOf(item);
		for (let i = index - 1; i >= 0; i--)
			if (state.items[i].role === 'guest')
				return state.items[i].text;
		return null;
	}

	function renderGuest(item) {
		const li = make('li', 'msg msg-guest');
		li.appendChild(make('p', 'msg-author visually-hidden', 'You'));
		const bubble = make('div', 'bubble');
		const text = make('p', 'msg-text', item.text);
		bubble.appendChild(text);
		li.appendChild(bubble);
		return li;
	}

	function renderAgent(item) {
		const li = make('li', 'msg msg-agent');
		const author = make('p', 'msg-author');
		const bubble = make('div', 'bubble');
		const text = make('div', 'msg-text');
		const typing = make('span', 'typing');
		typing.setAttribute('aria-hidden', 'true');
		typing.append(make('span'), make('span'), make('span'));
		bubble.append(text, typing);
		const status = make('p', 'msg-status');
		const note = make('p', 'msg-note');
		const actions = make('div', 'msg-actions');
		const cards = make('div', 'msg-cards');
		li.append(author, bubble, status, note, actions, cards);

		const view = { li: li, author: author, text: text, status: status, note: note, actions: actions,
			cards: cards, target: item.text, shown: item.text.length, frame: 0, onRevealed: null };
		views.set(item, view);
		updateAgent(item);
		renderRichText(text, item.text);
		return li;
	}

	function setStatus(item, text) {
		const view = views.get(item);
		if (!view)
			return;
		view.status.textContent = text || '';
		view.status.hidden = !text;
	}

	/* Redraws everything about an agent message except its streamed text. */
	function updateAgent(item) {
		const view = views.get(item);
		view.li.dataset.state = item.state;
		view.author.textContent = AGENT_LABELS[item.agent] || site.name || 'Assistant';
		view.li.setAttribute('aria-busy', item.state === 'streaming' || item.state === 'waiting' ? 'true' : 'false');
		view.note.textContent = item.note || '';
		view.note.hidden = !item.note;
		if (item.state !== 'streaming' && item.state !== 'waiting')
			setStatus(item, '');
		renderRetryAction(item);
		renderCard(item);
	}

	function renderRetryAction(item) {
		const view = views.get(item);
		const retryable = (item.state === 'error' || item.state === 'interrupted') &&
				  item === lastAgentItem() && !state.turn && guestTextBefore(item) !== null;
		view.actions.replaceChildren();
		view.actions.hidden = !retryable;
		if (!retryable)
			return;
		const button = make('button', 'button button-small', 'Send again');
		button.type = 'button';
		button.addEventListener('click', function () {
			resend(item);
		});
		view.actions.appendChild(button);
	}

	function appendItem(item) {
		state.items.push(item);
		const li = item.role === 'guest' ? renderGuest(item) : renderAgent(item);
		el.messages.appendChild(li);
		updateWelcome();
		return li;
	}

	function renderAll() {
		views.clear();
		el.messages.replaceChildren();
		state.items.forEach(function (item) {
			el.messages.appendChild(item.role === 'guest' ? renderGuest(item) : renderAgent(item));
		});
		updateWelcome();
		scrollToEnd(true);
	}

	/* ---- revealing streamed text ---- */

	/* Reveals text that arrived in one burst over a few frames, so that it
	 * reads as a stream. Bursts come from a slow network catching up and
	 * from the offline agent. Text that trickles in shows at once. */
	function revealStep(item) {
		const view = views.get(item);
		if (!view || !view.li.isConnected)
			return;
		view.frame = 0;
		const backlog = view.target.length - view.shown;
		if (backlog > 0) {
			const instant = reducedMotion.matches || document.hidden;
			let next = view.shown + (instant ? backlog : Math.max(3, Math.ceil(backlog / 6)));
			if (next > view.target.length)
				next = view.target.length;
			const code = view.target.charCodeAt(next - 1);
			if (code >= 0xd800 && code <= 0xdbff && next < view.target.length)
				next++;
			const stick = isNearBottom();
			view.shown = next;
			item.text = view.target.slice(0, next);
			renderRichText(view.text, item.text);
			scrollToEnd(stick);
		}
		if (view.shown < view.target.length) {
			scheduleReveal(item);
		} else if (view.onRevealed) {
			const done = view.onRevealed;
			view.onRevealed = null;
			done();
		}
	}

	function scheduleReveal(item) {
		const view = views.get(item);
		if (view.frame)
			return;
		if (document.hidden)
			view.frame = setTimeout(function () { revealStep(item); }, 0);
		else
			view.frame = requestAnimationFrame(function () { revealStep(item); });
	}

	function appendText(item, text) {
		const view = views.get(item);
		view.target += text;
		scheduleReveal(item);
	}

	/* Replaces the whole text, for the authoritative reply in done. */
	function setTargetText(item, text, onRevealed) {
		const view = views.get(item);
		if (!text.startsWith(view.target.slice(0, view.shown))) {
			view.shown = 0;
		}
		view.target = text;
		view.onRevealed = onRevealed;
		scheduleReveal(item);
	}

	function resetText(item) {
		const view = views.get(item);
		view.target = '';
		view.shown = 0;
		view.onRevealed = null;
		item.text = '';
		renderRichText(view.text, '');
	}

	/* ---- reservation card ---- */

	function validReservation(r) {
		return isObject(r) && typeof r.code === 'string' && r.code !== '';
	}

	function cityOf(zone) {
		return zone.split('/').pop().replace(/_/g, ' ');
	}

	/* "Monday 7 December at 19:30" in the restaurant's time zone, with the
	 * zone named when the guest's own differs. */
	function formatWhen(r) {
		const starts = typeof r.starts_at === 'string' ? new Date(r.starts_at) : null;
		if (!starts || isNaN(starts.getTime()) || !site.timezone)
			return [r.date, r.time].filter(Boolean).join(' at ');
		const thisYear = new Intl.DateTimeFormat('en', { timeZone: site.timezone, year: 'numeric' });
		const options = { timeZone: site.timezone, weekday: 'long', day: 'numeric', month: 'long',
			hour: 'numeric', minute: '2-digit' };
		if (thisYear.format(starts) !== thisYear.format(new Date()))
			options.year = 'numeric';
		let text = new Intl.DateTimeFormat(undefined, options).format(starts);
		const guestZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
		if (guestZone !== site.timezone)
			text += ' (' + cityOf(site.timezone) + ' time)';
		return text;
	}

	function cardRow(list, label, value, className) {
		const row = make('div', 'card-row');
		row.append(make('dt', '', label), make('dd', className || '', value));
		list.appendChild(row);
	}

	function renderCard(item) {
		const view = views.get(item);
		const r = item.reservation;
		view.cards.replaceChildren();
		if (!validReservation(r))
			return;

		const cancelled = r.status === 'cancelled';
		const card = make('section', 'card');
		const titleId = 'card-' + Math.random().toString(36).slice(2);
		card.dataset.code = r.code;
		card.dataset.status = r.status || '';
		card.setAttribute('aria-labelledby', titleId);

		const head = make('div', 'card-head');
		const title = make('h2', 'card-title', 'Your reservation');
		title.id = titleId;
		const badge = make('p', 'card-status ' + (cancelled ? 'is-cancelled' : 'is-confirmed'),
			cancelled ? 'Cancelled' : 'Confirmed');
		badge.tabIndex = -1;
		head.append(title, badge);

		const list = make('dl', 'card-details');
		cardRow(list, 'Code', r.code, 'card-code');
		cardRow(list, 'When', formatWhen(r));
		if (Number.isInteger(r.party_size))
			cardRow(list, 'Party', r.party_size + (r.party_size === 1 ? ' guest' : ' guests'));
		if (typeof r.name === 'string' && r.name)
			cardRow(list, 'Name', r.name);
		card.append(head, list);

		if (!cancelled && r.status !== 'completed')
			card.appendChild(renderCancel(item, r));
		else if (cancelled)
			card.appendChild(make('p', 'card-hint', 'This table is free again. You are welcome to book another time.'));
		view.cards.appendChild(card);
	}

	function digitsOf(text) {
		return text.replace(/\D/g, '');
	}

	function knownPhoneFor(r) {
		if (typeof r.phone_last4 !== 'string')
			return null;
		for (let i = state.phones.length - 1; i >= 0; i--)
			if (digitsOf(state.phones[i]).endsWith(r.phone_last4))
				return state.phones[i];
		return null;
	}

	function rememberPhones(text) {
		const found = text.match(/\+?\d[\d\s().-]{6,}\d/g) || [];
		found.forEach(function (candidate) {
			const digits = digitsOf(candidate).length;
			const isDate = /^\d{4}-\d{1,2}-\d{1,2}$/.test(candidate.trim());
			if (digits >= 8 && digits <= 15 && !isDate && !state.phones.includes(candidate))
				state.phones.push(candidate);
		});
	}

	function forgetPhone(phone) {
		state.phones = state.phones.filter(function (p) { return p !== phone; });
	}

	/* Builds the Cancel button and its confirmation form. The form shows the
	 * phone field only when the guest has not typed a matching number on
	 * this page, or when the number typed does not match the booking. */
	function renderCancel(item, r) {
		const box = make('div', 'cancel');
		const open = make('button', 'button button-outline', 'Cancel booking');
		open.type = 'button';
		open.setAttribute('aria-expanded', 'false');

		const form = make('form', 'cancel-form');
		form.noValidate = true;
		form.hidden = true;
		const formId = 'cancel-' + Math.random().toString(36).slice(2);
		form.id = formId;
		open.setAttribute('aria-controls', formId);

		const phone = knownPhoneFor(r);
		const question = make('p', 'cancel-question', phone
			? 'Cancel booking ' + r.code + '? The table will be given to other guests.'
			: 'To cancel booking ' + r.code + ', enter the phone number you booked with.');

		const field = make('div', 'cancel-field');
		field.hidden = Boolean(phone);
		const label = make('label', 'field-label', 'Phone number');
		const input = make('input', 'field-input');
		input.type = 'tel';
		input.id = formId + '-phone';
		input.name = 'phone';
		input.autocomplete = 'tel';
		input.inputMode = 'tel';
		label.htmlFor = input.id;
		const hint = make('p', 'field-hint', typeof r.phone_last4 === 'string'
			? 'The number ending in ' + r.phone_last4 + '.' : 'The number given when booking.');
		hint.id = formId + '-hint';
		const error = make('p', 'field-error');
		error.id = formId + '-error';
		error.hidden = true;
		input.setAttribute('aria-describedby', hint.id + ' ' + error.id);
		field.append(label, input, hint);

		const buttons = make('div', 'cancel-buttons');
		const confirm = make('button', 'button button-danger', 'Yes, cancel it');
		confirm.type = 'submit';
		const keep = make('button', 'button button-quiet', 'Keep booking');
		keep.type = 'button';
		buttons.append(confirm, keep);
		form.append(question, field, error, buttons);

		function showForm(show) {
			form.hidden = !show;
			open.hidden = show;
			open.setAttribute('aria-expanded', String(show));
			if (show) {
				(field.hidden ? confirm : input).focus({ preventScroll: true });
				form.scrollIntoView({ block: 'nearest' });
			} else {
				open.focus();
			}
		}

		open.addEventListener('click', function () { showForm(true); });
		keep.addEventListener('click', function () { showForm(false); });
		form.addEventListener('keydown', function (event) {
			if (event.key === 'Escape')
				showForm(false);
		});
		form.addEventListener('submit', function (event) {
			event.preventDefault();
			cancelReservation(r, field.hidden ? phone : input.value,
				{ field: field, input: input, error: error, confirm: confirm, question: question });
		});

		box.append(open, form);
		return box;
	}

	function showFieldError(parts, text) {
		parts.error.textContent = text;
		parts.error.hidden = false;
		if (parts.field.hidden) {
			parts.confirm.focus();
		} else {
			parts.input.setAttribute('aria-invalid', 'true');
			parts.input.focus();
		}
		el.alert.textContent = text;
	}

	/* The number typed in the chat was not the one booked with: forget it
	 * and ask for the right one. */
	function askForPhone(parts, phone, text) {
		forgetPhone(phone);
		parts.field.hidden = false;
		parts.question.textContent = 'Enter the phone number you booked with to cancel.';
		showFieldError(parts, text);
	}

	async function cancelReservation(r, phone, parts) {
		const digits = digitsOf(phone || '').length;
		if (digits < 8 || digits > 15) {
			showFieldError(parts, 'Enter the whole phone number, 8 to 15 digits, for example +33 6 12 34 56 78.');
			return;
		}
		parts.confirm.disabled = true;
		parts.confirm.textContent = 'Cancelling…';

		let response = null, body = null;
		try {
			response = await fetch('/v1/reservations/' + encodeURIComponent(r.code) + '?phone=' +
				encodeURIComponent(phone.trim()), { method: 'DELETE', cache: 'no-store' });
			body = await response.json().catch(function () { return null; });
		} catch (err) {
			console.warn('DELETE /v1/reservations failed:', err);
		}
		parts.confirm.disabled = false;
		parts.confirm.textContent = 'Yes, cancel it';

		const serverError = isObject(body) && isObject(body.error) ? body.error : null;
		if (response && response.ok && validReservation(body)) {
			if (!state.phones.includes(phone))
				state.phones.push(phone);
			updateReservation(body);
			announce('Booking ' + r.code + ' is cancelled.');
			focusCardStatus(r.code);
		} else if (response && response.status === 409 && serverError && serverError.code === 'already_cancelled') {
			updateReservation(validReservation(serverError.reservation) ? serverError.reservation
				: Object.assign({}, r, { status: 'cancelled' }));
			announce('Booking ' + r.code + ' was already cancelled.');
			focusCardStatus(r.code);
		} else if (response && response.status === 404 && parts.field.hidden) {
			askForPhone(parts, phone, 'The phone number from the chat does not match booking ' + r.code + '.');
		} else if (response && response.status === 404) {
			showFieldError(parts, 'That phone number does not match booking ' + r.code + '. Check it and try again.');
		} else if (response && response.status === 400 && serverError) {
			showFieldError(parts, 'That phone number was not accepted: ' + serverError.message + '.');
		} else if (response) {
			showFieldError(parts, 'The booking could not be cancelled just now (' +
				(serverError ? serverError.code : 'HTTP ' + response.status) + '). Please try again.');
		} else {
			showFieldError(parts, 'We could not reach the restaurant. Check your connection and try again.');
		}
	}

	/* Shows a changed reservation on every card that carries its code. */
	function updateReservation(r) {
		state.items.forEach(function (item) {
			if (item.role === 'agent' && validReservation(item.reservation) && item.reservation.code === r.code) {
				item.reservation = r;
				renderCard(item);
			}
		});
		saveStore();
	}

	function focusCardStatus(code) {
		const cards = el.messages.querySelectorAll('.card');
		for (let i = cards.length - 1; i >= 0; i--) {
			if (cards[i].dataset.code === code) {
				cards[i].querySelector('.card-status').focus();
				return;
			}
		}
	}

	/* ---- one chat turn ---- */

	function setBusy(busy) {
		el.send.disabled = busy;
		el.send.setAttribute('aria-disabled', String(busy));
		document.body.classList.toggle('is-busy', busy);
	}

	function parseRetryAfter(value) {
		let seconds = RETRY_AFTER_DEFAULT_S;
		if (value && /^\d+$/.test(value.trim())) {
			seconds = parseInt(value, 10);
		} else if (value && !isNaN(Date.parse(value))) {
			seconds = Math.ceil((Date.parse(value) - Date.now()) / 1000);
		}
		return Math.min(Math.max(seconds, 1), RETRY_AFTER_MAX_S);
	}

	function waitLead(code) {
		if (code === 'rate_limited')
			return 'You are sending messages faster than we can answer.';
		if (code === 'not_ready')
			return 'The chat is restarting.';
		return 'All our assistants are busy right now.';
	}

	function errorNote(code, message) {
		if (code === 'upstream_timeout')
			return 'The assistant took too long to answer. Please send your message again.';
		if (code === 'not_ready')
			return 'The chat restarted before the answer was complete. Please send your message again.';
		if (code === 'body_too_large' || code === 'invalid_request' || code === 'invalid_json')
			return 'The message was not accepted: ' + (message || code) + '.';
		return 'Sorry, something went wrong (' + code + '). Please send your message again.';
	}

	async function readHttpError(response) {
		let code = 'HTTP ' + response.status, message = '';
		try {
			const body = await response.json();
			if (isObject(body) && isObject(body.error)) {
				code = String(body.error.code || code);
				message = String(body.error.message || '');
			}
		} catch (err) {
			/* Not our JSON error shape, for example a proxy's HTML page. */
		}
		return { code: code, message: message };
	}

	/* Splits an event id "<request id>-<n>" (or a bare "<n>") into the
	 * turn it belongs to and its number; returns null for other ids. */
	function parseEventId(id) {
		const match = /^(?:(.*)-)?(\d+)$/.exec(id || '');
		return match ? { turn: match[1] || '', n: Number(match[2]) } : null;
	}

	/* Returns true when event comes after the id `than` in the same turn. */
	function isLaterEvent(event, than) {
		const a = parseEventId(event.id), b = parseEventId(than);
		return Boolean(a && b && a.turn === b.turn && a.n > b.n);
	}

	/* A retry resumed the dropped stream when its first event belongs to
	 * the same turn: an id with the same request id (or a later bare
	 * number), or a meta with the same request_id. A server that cannot
	 * resume starts a new turn with a new request_id instead. */
	function continuesTurn(turn, event) {
		if (event.type === 'meta') {
			try {
				return JSON.parse(event.data).request_id === turn.requestId;
			} catch (err) {
				return false;
			}
		}
		const a = parseEventId(event.id), b = parseEventId(turn.lastEventId);
		if (!a || !b)
			return false;
		return a.turn ? a.turn === b.turn : a.n > b.n;
	}

	function handleMeta(turn, data) {
		const item = turn.item;
		if (typeof data.request_id === 'string')
			turn.requestId = data.request_id;
		if (typeof data.session_id === 'string' && SESSION_ID_PATTERN.test(data.session_id))
			state.sessionId = data.session_id;
		if (data.agent === 'food' || data.agent === 'booking')
			item.agent = data.agent;
		updateAgent(item);
		saveStore();
	}

	function handleQueued(turn, data) {
		const position = Number(data.position);
		if (!Number.isInteger(position) || position < 1 || views.get(turn.item).target)
			return;
		const text = position === 1 ? 'You are next in line.' : 'You are number ' + position + ' in line.';
		setStatus(turn.item, text);
		if (!turn.announcedQueue) {
			turn.announcedQueue = true;
			announce(text + ' We will answer as soon as we can.');
		}
	}

	function handleStatus(turn, data) {
		if (typeof data.text !== 'string' || !data.text)
			return;
		setStatus(turn.item, data.text);
		if (!turn.announcedStatus) {
			turn.announcedStatus = true;
			announce(data.text);
		}
	}

	function handleTool(turn, data) {
		if (typeof data.name === 'string' && TOOL_ACTIVITY[data.name] && !views.get(turn.item).target)
			setStatus(turn.item, TOOL_ACTIVITY[data.name]);
	}

	function handleDone(turn, data) {
		const item = turn.item;
		const reply = typeof data.reply === 'string' ? data.reply : views.get(item).target;
		if (data.agent === 'food' || data.agent === 'booking')
			item.agent = data.agent;
		setStatus(item, '');
		setTargetText(item, reply, function () {
			const stick = isNearBottom();
			item.state = 'done';
			item.note = '';
			if (validReservation(data.reservation)) {
				item.reservation = data.reservation;
				updateReservation(data.reservation);
			}
			updateAgent(item);
			saveStore();
			const label = AGENT_LABELS[item.agent] || 'Assistant';
			announce(label + ': ' + reply + (item.reservation ? ' Reservation code ' + item.reservation.code + '.' : ''));
			scrollToEnd(stick);
		});
	}

	/* Returns the turn's outcome for done and error, else null. */
	function handleEvent(turn, event) {
		let data;
		try {
			data = JSON.parse(event.data);
		} catch (err) {
			console.warn('ignoring an event whose data is not JSON:', event.type);
			return null;
		}
		if (!isObject(data))
			return null;

		switch (event.type) {
		case 'meta':
			handleMeta(turn, data);
			return null;
		case 'queued':
			handleQueued(turn, data);
			return null;
		case 'status':
			handleStatus(turn, data);
			return null;
		case 'tool':
			handleTool(turn, data);
			return null;
		case 'delta':
			if (typeof data.text === 'string' && data.text) {
				setStatus(turn.item, '');
				appendText(turn.item, data.text);
			}
			return null;
		case 'done':
			handleDone(turn, data);
			return { kind: 'finished' };
		case 'error': {
			const error = isObject(data.error) ? data.error : {};
			const code = String(error.code || 'error');
			const waitable = (code === 'overloaded' || code === 'not_ready') && !views.get(turn.item).target;
			if (waitable)
				return { kind: 'wait', code: code, seconds: parseRetryAfter(String(error.retry_after || '')) };
			if (code === 'interrupted')
				return { kind: 'cut_short' };
			return { kind: 'failed', note: errorNote(code, String(error.message || '')) };
		}
		default:
			/* The SSE standard has clients ignore event types they do not know. */
			return null;
		}
	}

	async function readStream(turn, response, resuming) {
		const reader = response.body.getReader();
		const decoder = new TextDecoder();
		let outcome = null;
		let first = true;
		const sentId = turn.lastEventId;

		const parser = createSseParser(function (event) {
			if (outcome)
				return;
			if (resuming && first) {
				if (!continuesTurn(turn, event)) {
					outcome = { kind: 'not_resumed' };
					return;
				}
				state.resumeSupported = true;
			}
			first = false;
			if (resuming && event.id && !isLaterEvent(event, sentId) && parseEventId(event.id))
				return;
			if (event.id)
				turn.lastEventId = event.id;
			outcome = handleEvent(turn, event);
		});

		let stallTimer = 0;
		function armStallTimer() {
			clearTimeout(stallTimer);
			stallTimer = setTimeout(function () {
				turn.controller.abort();
			}, STALL_TIMEOUT_MS);
		}

		armStallTimer();
		try {
			while (!outcome) {
				const chunk = await reader.read();
				if (chunk.done)
					break;
				armStallTimer();
				parser.push(decoder.decode(chunk.value, { stream: true }));
			}
		} catch (err) {
			/* The connection dropped or stalled: handled below. */
		} finally {
			clearTimeout(stallTimer);
		}
		if (outcome) {
			reader.cancel().catch(function () {});
			return outcome;
		}
		return { kind: 'dropped' };
	}

	/* Sends the turn once: a fresh request, or with Last-Event-ID to resume. */
	async function attempt(turn, resuming) {
		turn.controller = new AbortController();
		const headers = { 'Content-Type': 'application/json', 'Accept': 'text/event-stream' };
		if (resuming)
			headers['Last-Event-ID'] = turn.lastEventId;
		const body = { message: turn.message };
		if (state.sessionId)
			body.session_id = state.sessionId;

		/* The server answers with headers only once the turn has started, so
		 * a connection that gives nothing for this long is dead too. */
		const controller = turn.controller;
		const stallTimer = setTimeout(function () { controller.abort(); }, STALL_TIMEOUT_MS);
		let response;
		try {
			response = await fetch('/v1/chat', { method: 'POST', headers: headers, body: JSON.stringify(body),
				cache: 'no-store', signal: controller.signal });
		} catch (err) {
			return { kind: resuming ? 'dropped' : 'unreachable' };
		} finally {
			clearTimeout(stallTimer);
		}
		if (response.status === 429 || response.status === 503) {
			const error = await readHttpError(response);
			return { kind: 'wait', code: error.code, seconds: parseRetryAfter(response.headers.get('Retry-After')) };
		}
		if (resuming && (response.status === 404 || response.status === 400)) {
			/* The server keeps a turn's events for a few minutes only. */
			return { kind: 'cut_short' };
		}
		if (!response.ok) {
			const error = await readHttpError(response);
			return { kind: 'failed', note: errorNote(error.code, error.message) };
		}
		if (!(response.headers.get('Content-Type') || '').startsWith('text/event-stream') || !response.body)
			return { kind: 'failed', note: errorNote('unexpected_response', '') };
		return readStream(turn, response, resuming);
	}

	/* Shows "Trying again in N s" and counts down. Resolves to true when it
	 * is time to retry and to false when the turn was given up. */
	function waitWithCountdown(turn, seconds, lead) {
		return new Promise(function (resolve) {
			const item = turn.item;
			const view = views.get(item);
			let left = seconds;
			let timer = 0;

			function finish(result) {
				clearInterval(timer);
				view.actions.replaceChildren();
				view.actions.hidden = true;
				resolve(result);
			}

			function show() {
				setStatus(item, lead + ' Trying again in ' + left + ' s.');
			}

			item.state = 'waiting';
			updateAgent(item);
			show();
			announce(lead + ' Trying again in ' + seconds + ' seconds.');

			const now = make('button', 'button button-small', 'Try now');
			now.type = 'button';
			now.addEventListener('click', function () { finish(true); });
			view.actions.replaceChildren(now);
			view.actions.hidden = false;

			timer = setInterval(function () {
				left--;
				if (left <= 0)
					finish(true);
				else
					show();
			}, 1000);
			turn.controller.signal.addEventListener('abort', function () { finish(false); }, { once: true });
		});
	}

	function waitOnline(signal) {
		if (navigator.onLine)
			return Promise.resolve();
		return new Promise(function (resolve) {
			const timer = setTimeout(done, ONLINE_WAIT_MS);
			function done() {
				clearTimeout(timer);
				window.removeEventListener('online', done);
				resolve();
			}
			window.addEventListener('online', done);
			signal.addEventListener('abort', done, { once: true });
		});
	}

	function endTurn(turn, itemState, note) {
		const item = turn.item;
		const view = views.get(item);
		if (view.onRevealed)
			return;
		item.state = itemState;
		item.note = note || '';
		item.text = view.target;
		renderRichText(view.text, item.text);
		view.shown = view.target.length;
		if (itemState !== 'done')
			announce(note);
	}

	function dropNote(turn, notResumable) {
		if (notResumable)
			return 'The connection dropped before the answer was complete, and it could not be picked up ' +
			       'where it stopped. Send your message again for the full answer.';
		if (!navigator.onLine)
			return 'You seem to be offline. Check your connection, then send your message again.';
		if (views.get(turn.item).target)
			return 'The connection dropped before the answer was complete. Send your message again for the full answer.';
		return 'The connection dropped before the answer arrived. Send your message again.';
	}

	/* Runs the turn to its end: retries after 429 and 503, and resumes a
	 * dropped stream when the server supports Last-Event-ID. */
	async function runTurn(turn) {
		let resuming = false;
		let autoRetries = 0;
		let resumes = 0;

		for (;;) {
			const result = await attempt(turn, resuming);
			if (turn.cancelled)
				return;

			if (result.kind === 'finished')
				return;
			if (result.kind === 'failed') {
				endTurn(turn, 'error', result.note);
				return;
			}
			if (result.kind === 'unreachable') {
				endTurn(turn, 'error', navigator.onLine
					? 'We could not reach the restaurant. Check your connection, then send your message again.'
					: 'You seem to be offline. Check your connection, then send your message again.');
				return;
			}
			if (result.kind === 'wait') {
				if (autoRetries++ >= AUTO_RETRY_MAX) {
					endTurn(turn, 'error', waitLead(result.code) + ' Please try again in a minute.');
					return;
				}
				if (!await waitWithCountdown(turn, result.seconds, waitLead(result.code)))
					return;
				turn.item.state = 'streaming';
				updateAgent(turn.item);
				if (!resuming)
					resetTurn(turn);
				continue;
			}
			if (result.kind === 'not_resumed') {
				turn.controller.abort();
				state.resumeSupported = false;
				endTurn(turn, 'interrupted', dropNote(turn, true));
				return;
			}
			if (result.kind === 'cut_short') {
				endTurn(turn, 'interrupted', dropNote(turn, true));
				return;
			}

			/* Dropped: resume only a turn that sent events with ids. */
			if (!turn.lastEventId || state.resumeSupported === false || resumes >= RESUME_DELAYS_MS.length) {
				endTurn(turn, 'interrupted', dropNote(turn, state.resumeSupported === false));
				return;
			}
			setStatus(turn.item, 'Connection lost. Reconnecting…');
			await sleep(RESUME_DELAYS_MS[resumes++], turn.controller.signal);
			await waitOnline(turn.controller.signal);
			if (turn.cancelled)
				return;
			resuming = true;
		}
	}

	function resetTurn(turn) {
		turn.requestId = null;
		turn.lastEventId = null;
		turn.announcedQueue = false;
		turn.announcedStatus = false;
		resetText(turn.item);
	}

	async function startTurn(item, message) {
		const turn = { item: item, message: message, controller: new AbortController(), cancelled: false,
			requestId: null, lastEventId: null, announcedQueue: false, announcedStatus: false };
		state.turn = turn;
		item.state = 'streaming';
		item.note = '';
		resetText(item);
		updateAgent(item);
		setBusy(true);
		scrollToEnd(true);

		try {
			await runTurn(turn);
		} catch (err) {
			console.error('chat turn failed:', err);
			endTurn(turn, 'error', errorNote('page_error', ''));
		}
		await whenRevealed(item);
		if (turn.cancelled)
			return;
		state.turn = null;
		if (item.state === 'streaming' || item.state === 'waiting')
			item.state = 'error';
		const stick = isNearBottom();
		updateAgent(item);
		setBusy(false);
		saveStore();
		scrollToEnd(stick);
	}

	function whenRevealed(item) {
		const view = views.get(item);
		if (!view || !view.onRevealed)
			return Promise.resolve();
		return new Promise(function (resolve) {
			const done = view.onRevealed;
			view.onRevealed = function () {
				done();
				resolve();
			};
		});
	}

	function resend(item) {
		const message = guestTextBefore(item);
		if (state.turn || message === null)
			return;
		item.reservation = null;
		startTurn(item, message);
	}

	/* ---- composer ---- */

	function showComposerError(text) {
		el.composerError.textContent = text;
		el.composerError.hidden = !text;
		el.input.setAttribute('aria-invalid', text ? 'true' : 'false');
	}

	function resizeInput() {
		el.input.style.height = 'auto';
		el.input.style.height = Math.min(el.input.scrollHeight, 160) + 'px';
	}

	function send(text) {
		const message = text.trim();
		if (state.turn || !state.ready)
			return;
		if (!message) {
			showComposerError('Type a message first.');
			el.input.focus();
			return;
		}
		const length = codePointLength(message);
		if (length > MESSAGE_MAX_CHARS) {
			showComposerError('That message is ' + length + ' characters long, and the limit is ' +
				MESSAGE_MAX_CHARS + '. Please shorten it.');
			el.input.focus();
			return;
		}
		showComposerError('');
		rememberPhones(message);

		const previous = lastAgentItem();
		appendItem({ role: 'guest', text: message });
		const item = { role: 'agent', text: '', agent: '', state: 'streaming', note: '' };
		appendItem(item);
		if (previous)
			updateAgent(previous);
		el.input.value = '';
		resizeInput();
		saveStore();
		startTurn(item, message);
	}

	function newChat() {
		if (state.turn) {
			state.turn.cancelled = true;
			state.turn.controller.abort();
			state.turn = null;
		}
		state.items = [];
		state.sessionId = null;
		clearStore();
		renderAll();
		setBusy(false);
		showComposerError('');
		announce('Started a new conversation.');
		el.input.focus();
	}

	function bindComposer() {
		el.form.addEventListener('submit', function (event) {
			event.preventDefault();
			send(el.input.value);
		});
		el.input.addEventListener('keydown', function (event) {
			if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
				event.preventDefault();
				send(el.input.value);
			}
		});
		el.input.addEventListener('input', function () {
			resizeInput();
			if (!el.composerError.hidden && el.input.value.trim())
				showComposerError('');
		});
		el.welcome.addEventListener('click', function (event) {
			const chip = event.target.closest('[data-suggestion]');
			if (chip)
				send(chip.dataset.suggestion);
		});
		el.newChat.addEventListener('click', newChat);
		window.addEventListener('pagehide', saveStore);
	}

	function start() {
		el = {
			name: document.getElementById('restaurant-name'),
			main: document.getElementById('main'),
			welcome: document.getElementById('welcome'),
			welcomeTitle: document.getElementById('welcome-title'),
			messages: document.getElementById('messages'),
			form: document.getElementById('composer'),
			input: document.getElementById('message'),
			send: document.getElementById('send'),
			composerError: document.getElementById('composer-error'),
			newChat: document.getElementById('new-chat'),
			live: document.getElementById('live'),
			alert: document.getElementById('alert'),
		};
		loadStore();
		bindComposer();
		setBusy(true);
		loadSite().then(function () {
			renderAll();
			state.ready = true;
			setBusy(false);
			document.body.dataset.ready = 'true';
		});
	}

	start();
}());
