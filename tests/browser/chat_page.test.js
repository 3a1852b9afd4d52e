'use strict';
/* The guests' chat page in headless Chromium, against a real maitred: first
 * with the offline agent, then with the test upstream as the model. Prints
 * one line per case and closes with "N passed, N failed". */
const fs = require('fs');
const path = require('path');
const { ARTIFACTS, CuttingProxy, Maitred, Upstream, freshDatabase, launchChromium, psql, request, sleep } = require('./harness');
const steps = require('./page_steps');

const CASE_TIMEOUT_MS = 120000;
const PHONE_VIEWPORT = { width: 360, height: 740 };
const DESKTOP_VIEWPORT = { width: 1280, height: 800 };
const AXE = require.resolve('axe-core/axe.min.js');

const offlineCases = [];
const onlineCases = [];
const brandedCases = [];

function offline(name, fn) {
	offlineCases.push({ name: name, fn: fn });
}

function online(name, fn) {
	onlineCases.push({ name: name, fn: fn });
}

function branded(name, fn) {
	brandedCases.push({ name: name, fn: fn });
}

function check(condition, message) {
	if (!condition)
		throw new Error(message);
}

/* ---- helpers ---- */

function sseBody(events) {
	return events.map(function (e) {
		return (e.id ? 'id: ' + e.id + '\n' : '') + 'event: ' + e.event + '\ndata: ' + JSON.stringify(e.data) + '\n\n';
	}).join('');
}

function fulfillSse(route, events) {
	return route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream; charset=utf-8',
		'Cache-Control': 'no-cache' }, body: sseBody(events) });
}

function isoDate(date) {
	return date.toISOString().slice(0, 10);
}

/* Returns the first day, 3 or more days ahead, with a free table for 2 at
 * `time`, so the test does not depend on which weekdays are open. */
async function openDay(server, time) {
	for (let ahead = 3; ahead < 17; ahead++) {
		const date = isoDate(new Date(Date.now() + ahead * 86400000));
		const res = await request(server.url + '/v1/availability?date=' + date + '&party_size=2');
		if (res.status !== 200)
			continue;
		const slots = JSON.parse(res.body).slots || [];
		if (slots.some(function (s) { return s.available && s.starts_at.slice(11, 16) === time; }))
			return date;
	}
	throw new Error('no day in the next two weeks has a free table for 2 at ' + time);
}

function reservationStatus(server, code) {
	const rows = psql(server.databaseUrl, "SELECT status FROM reservations WHERE code = '" + code.replace(/'/g, '') + "'");
	return rows.length ? rows[0][0] : null;
}

async function storedSession(page) {
	return page.evaluate(function () {
		const data = JSON.parse(localStorage.getItem('maitred.chat.v1') || '{}');
		return data.session_id || null;
	});
}

async function runAxe(page, label) {
	await page.addScriptTag({ path: AXE });
	const violations = await page.evaluate(async function () {
		const result = await window.axe.run(document, { resultTypes: ['violations'] });
		return result.violations.map(function (v) {
			return { id: v.id, impact: v.impact, help: v.help,
				targets: v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); }) };
		});
	});
	violations.forEach(function (v) {
		console.log('     axe ' + label + ': ' + v.impact + ' ' + v.id + ' (' + v.help + ') at ' + v.targets.join(', '));
	});
	const bad = violations.filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; });
	check(!bad.length, 'axe found serious or critical violations at ' + label + ': ' +
		bad.map(function (v) { return v.id; }).join(', '));
}

/* ---- offline agent ---- */

offline('page serves with CSP and site name', async function (t) {
	const page = await request(t.server.url + '/');
	const csp = page.headers['content-security-policy'] || '';
	check(page.status === 200, 'GET / returned ' + page.status);
	check(/script-src 'self'/.test(csp) && /style-src 'self'/.test(csp), 'missing CSP: ' + csp);
	check(!/unsafe-inline/.test(csp), 'the CSP allows inline code: ' + csp);
	check(!/<script>|<script [^>]*>\s*[^<\s]/.test(page.body), 'index.html has an inline script');
	check(!/<style|\sstyle=|\son[a-z]+=/i.test(page.body), 'index.html has inline style or event handlers');

	const site = JSON.parse((await request(t.server.url + '/static/site.json')).body);
	check(typeof site.name === 'string' && site.name, 'site.json has no name: ' + JSON.stringify(site));
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	check(await chat.page.textContent('h1') === site.name, 'the heading is not the restaurant name ' + site.name);
	check((await chat.page.title()).includes(site.name), 'the title does not name ' + site.name);
	const brand = await chat.page.evaluate(function () {
		return getComputedStyle(document.querySelector('.topbar')).backgroundColor;
	});
	const rgb = site.primary_color.match(/[0-9a-f]{2}/gi).map(function (h) { return parseInt(h, 16); });
	check(brand === 'rgb(' + rgb.join(', ') + ')', 'the header is ' + brand + ', not ' + site.primary_color);
	await steps.checkNoProblems(chat.problems);
});

offline('menu answer streams into the page', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const sampling = steps.startSampler(chat.page);
	await steps.type(chat.page, 'Do you have vegan starters?');
	const samples = await sampling;
	const reply = await steps.lastAgent(chat.page);

	check(reply.state === 'done', 'the answer ended as ' + reply.state + ': ' + reply.note);
	check(/vegan/i.test(reply.text), 'the answer does not mention vegan dishes: ' + reply.text);
	const lengths = steps.streamingLengths(samples);
	check(lengths.size >= 2, 'saw ' + lengths.size + ' text lengths while streaming, expected 2 or more');
	const partial = samples.filter(function (s) { return s.state === 'streaming' && s.live.includes(reply.text.slice(0, 20)); });
	check(!partial.length, 'the live region announced the answer while it was still streaming');
	await chat.page.waitForFunction(function (text) {
		return document.getElementById('live').textContent.includes(text);
	}, reply.text, { timeout: 2000 });
	await steps.checkNoProblems(chat.problems);
});

offline('booking shows a card and cancels it', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const page = chat.page;
	const date = await openDay(t.server, '19:30');
	const code = await steps.book(page, date, '19:30');
	const card = steps.cardFor(page, code);

	check(await card.getAttribute('data-status') === 'confirmed', 'the new booking is not confirmed');
	const text = await card.textContent();
	check(text.includes(code), 'the card does not show the code ' + code);
	check(text.includes('2 guests'), 'the card does not show the party size: ' + text);
	check(/7:30|19:30/.test(text), 'the card does not show 19:30 in the restaurant zone: ' + text);
	check(reservationStatus(t.server, code) === 'confirmed', 'the reservation is not confirmed in PostgreSQL');

	await card.getByRole('button', { name: 'Cancel booking' }).click();
	check(!await card.getByLabel('Phone number').isVisible(), 'asked for the phone number typed in the chat');
	await card.getByRole('button', { name: 'Yes, cancel it' }).click();
	await page.waitForSelector('.card[data-code="' + code + '"][data-status="cancelled"]');
	check(reservationStatus(t.server, code) === 'cancelled', 'PostgreSQL does not have ' + code + ' cancelled');

	const session = await storedSession(page);
	const agents = await steps.agentCount(page);
	await page.reload();
	await steps.waitReady(page);
	check(await steps.agentCount(page) === agents, 'the reload lost agent messages');
	const guest = await page.locator('.msg-guest .msg-text').allTextContents();
	check(guest.includes('My name is ' + steps.NAME), 'the reload lost the guest messages: ' + guest.join(' | '));
	check(await steps.cardFor(page, code).getAttribute('data-status') === 'cancelled', 'the reload lost the cancelled card');
	check(session && await storedSession(page) === session, 'the session id changed across the reload');

	const sent = page.waitForRequest(function (req) { return req.url().endsWith('/v1/chat'); });
	await steps.ask(page, 'Thank you!');
	check(JSON.parse((await sent).postData()).session_id === session, 'the next turn did not send the stored session id');
	await steps.checkNoProblems(chat.problems);
});

offline('cancel asks for the phone after a reload', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const page = chat.page;
	const date = await openDay(t.server, '20:00');
	const code = await steps.book(page, date, '20:00');
	await page.reload();
	await steps.waitReady(page);

	const card = steps.cardFor(page, code);
	await card.getByRole('button', { name: 'Cancel booking' }).click();
	const phone = card.getByLabel('Phone number');
	check(await phone.isVisible(), 'no phone field after the reload forgot the number');
	check(await phone.evaluate(function (node) { return node === document.activeElement; }), 'the phone field has no focus');
	await phone.fill('+33 6 99 99 99 99');
	await card.getByRole('button', { name: 'Yes, cancel it' }).click();
	await card.locator('.field-error:not([hidden])').waitFor();
	check(/does not match/.test(await card.locator('.field-error').textContent()), 'no clear error for a wrong phone');
	check(reservationStatus(t.server, code) === 'confirmed', 'a wrong phone cancelled the booking');

	await phone.fill(steps.PHONE);
	await card.getByRole('button', { name: 'Yes, cancel it' }).click();
	await page.waitForSelector('.card[data-code="' + code + '"][data-status="cancelled"]');
	check(reservationStatus(t.server, code) === 'cancelled', 'PostgreSQL does not have ' + code + ' cancelled');
	await steps.checkNoProblems(chat.problems);
});

offline('wrong phone from the chat falls back to the form', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const page = chat.page;
	const date = await openDay(t.server, '20:30');
	const code = await steps.book(page, date, '20:30');
	/* Another number with the same last four digits: the page cannot tell. */
	await steps.ask(page, 'My office number is +33 1 44 00 56 78');

	const card = steps.cardFor(page, code);
	await card.getByRole('button', { name: 'Cancel booking' }).click();
	check(!await card.getByLabel('Phone number').isVisible(), 'asked for a phone typed in the chat');
	await card.getByRole('button', { name: 'Yes, cancel it' }).click();
	const phone = card.getByLabel('Phone number');
	await phone.waitFor();
	check(/does not match/.test(await card.locator('.field-error').textContent()), 'no clear error for the wrong phone');
	check(reservationStatus(t.server, code) === 'confirmed', 'the wrong phone cancelled the booking');
	await phone.fill(steps.PHONE);
	await card.getByRole('button', { name: 'Yes, cancel it' }).click();
	await page.waitForSelector('.card[data-code="' + code + '"][data-status="cancelled"]');
	check(reservationStatus(t.server, code) === 'cancelled', 'PostgreSQL does not have ' + code + ' cancelled');
	await steps.checkNoProblems(chat.problems);
});

offline('keyboard alone sends a message', async function (t) {
	const chat = await steps.openChat(t.browser, t.server, { viewport: DESKTOP_VIEWPORT });
	t.context = chat.context;
	const page = chat.page;
	const visited = [];
	for (let i = 0; i < 12; i++) {
		await page.keyboard.press('Tab');
		const focus = await page.evaluate(function () {
			const node = document.activeElement;
			const style = getComputedStyle(node);
			return { id: node.id, text: node.textContent.trim(), outline: style.outlineStyle + ' ' + style.outlineWidth };
		});
		visited.push(focus);
		if (focus.id === 'message')
			break;
	}
	const chip = visited.find(function (f) { return f.text === 'Do you have vegan starters?'; });
	check(chip, 'Tab never reached the suggested questions: ' + JSON.stringify(visited));
	check(!/^none/.test(chip.outline), 'a focused button shows no outline: ' + chip.outline);
	check(visited[visited.length - 1].id === 'message', 'Tab never reached the message box');
	check(await page.getByLabel('Your message').count() === 1, 'the message box has no label');

	const before = await steps.agentCount(page);
	await page.keyboard.type('What time do you open?');
	await page.keyboard.press('Enter');
	await steps.waitTurnEnd(page, before);
	const reply = await steps.lastAgent(page);
	check(reply.state === 'done' && reply.text, 'no answer after Enter: ' + JSON.stringify(reply));
	await steps.checkNoProblems(chat.problems);
});

offline('new chat clears the conversation', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	await steps.ask(chat.page, 'Hello');
	await chat.page.getByRole('button', { name: 'New chat' }).click();
	check(await chat.page.locator('.msg').count() === 0, 'messages remain after New chat');
	check(await chat.page.locator('#welcome').isVisible(), 'the welcome is not back after New chat');
	check(await storedSession(chat.page) === null, 'the old session id is still stored');
	await steps.checkNoProblems(chat.problems);
});

offline('server text is never parsed as HTML', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const html = '<img src="/x" id="injected"> **bold** <b id="tag">b</b>';
	await chat.page.route('**/v1/chat', function (route) {
		return fulfillSse(route, [
			{ id: '1', event: 'meta', data: { session_id: 'browsertest-html', request_id: 'r-html', agent: 'food' } },
			{ id: '2', event: 'delta', data: { text: html } },
			{ id: '3', event: 'done', data: { reply: html, agent: 'food' } },
		]);
	});
	const reply = await steps.ask(chat.page, 'Show me some markup');
	check(await chat.page.locator('#injected, #tag').count() === 0, 'server text became HTML elements');
	check(reply.text.includes('<img src="/x" id="injected">'), 'the markup is not shown as text: ' + reply.text);
	await steps.checkNoProblems(chat.problems);
});

offline('rate limit shows a countdown and retries', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	let calls = 0;
	await chat.page.route('**/v1/chat', function (route) {
		calls++;
		if (calls > 1)
			return route.continue();
		return route.fulfill({ status: 429, headers: { 'Content-Type': 'application/json', 'Retry-After': '2' },
			body: JSON.stringify({ error: { code: 'rate_limited', message: 'too many chat turns; retry in 2 s' } }) });
	});
	const sampling = steps.startSampler(chat.page);
	await steps.type(chat.page, 'What time do you open?');
	const samples = await sampling;
	const countdown = samples.filter(function (s) { return /Trying again in [12] s/.test(s.status); });
	check(countdown.length, 'no visible countdown: ' + JSON.stringify(samples.slice(0, 3)));
	const reply = await steps.lastAgent(chat.page);
	check(reply.state === 'done', 'the retry did not answer: ' + JSON.stringify(reply));
	check(calls === 2, 'expected 2 requests, saw ' + calls);
	await steps.checkNoProblems(chat.problems);
});

offline('overloaded stream error waits and retries', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	let calls = 0;
	await chat.page.route('**/v1/chat', function (route) {
		calls++;
		if (calls > 1)
			return route.continue();
		return fulfillSse(route, [
			{ id: '1', event: 'meta', data: { session_id: 'browsertest-busy', request_id: 'r-busy', agent: 'food' } },
			{ id: '2', event: 'queued', data: { position: 3 } },
			{ id: '3', event: 'error', data: { error: { code: 'overloaded', message: 'no agent was free', retry_after: 1 } } },
		]);
	});
	const reply = await steps.ask(chat.page, 'What time do you open?');
	check(reply.state === 'done', 'the retry did not answer: ' + JSON.stringify(reply));
	check(calls === 2, 'expected 2 requests, saw ' + calls);
	await steps.checkNoProblems(chat.problems);
});

offline('stream error offers to send again', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	let calls = 0;
	await chat.page.route('**/v1/chat', function (route) {
		calls++;
		if (calls > 1)
			return route.continue();
		return fulfillSse(route, [
			{ id: '1', event: 'meta', data: { session_id: 'browsertest-error', request_id: 'r-error', agent: 'food' } },
			{ id: '2', event: 'error', data: { error: { code: 'upstream_timeout', message: 'the assistant did not answer in time' } } },
		]);
	});
	const failed = await steps.ask(chat.page, 'What time do you open?');
	check(failed.state === 'error', 'the error ended as ' + failed.state);
	check(/took too long/.test(failed.note), 'no clear error message: ' + failed.note);
	const before = await steps.agentCount(chat.page);
	await chat.page.getByRole('button', { name: 'Send again' }).click();
	await steps.waitTurnEnd(chat.page, before - 1);
	const reply = await steps.lastAgent(chat.page);
	check(reply.state === 'done' && reply.text, 'Send again did not answer: ' + JSON.stringify(reply));
	check(await steps.agentCount(chat.page) === before, 'Send again added a second answer');
	await steps.checkNoProblems(chat.problems);
});

offline('dropped stream resumes with Last-Event-ID', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const lastIds = [];
	await chat.page.route('**/v1/chat', function (route) {
		lastIds.push(route.request().headers()['last-event-id'] || null);
		if (lastIds.length === 1) {
			return fulfillSse(route, [
				{ id: 'r-resume-1', event: 'meta', data: { session_id: 'browsertest-resume', request_id: 'r-resume', agent: 'food' } },
				{ id: 'r-resume-2', event: 'delta', data: { text: 'We open at noon ' } },
				{ id: 'r-resume-3', event: 'delta', data: { text: 'and close ' } },
			]);
		}
		return fulfillSse(route, [
			{ id: 'r-resume-3', event: 'delta', data: { text: 'and close ' } },
			{ id: 'r-resume-4', event: 'delta', data: { text: 'at eleven.' } },
			{ id: 'r-resume-5', event: 'done', data: { reply: 'We open at noon and close at eleven.', agent: 'food' } },
		]);
	});
	const reply = await steps.ask(chat.page, 'What time do you open?');
	check(JSON.stringify(lastIds) === '[null,"r-resume-3"]', 'Last-Event-ID headers were ' + JSON.stringify(lastIds));
	check(reply.state === 'done', 'the resumed answer ended as ' + reply.state + ': ' + reply.note);
	check(reply.text === 'We open at noon and close at eleven.', 'the resumed text is ' + reply.text);
	await steps.checkNoProblems(chat.problems);
});

offline('server without resume asks to resend', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const lastIds = [];
	await chat.page.route('**/v1/chat', function (route) {
		lastIds.push(route.request().headers()['last-event-id'] || null);
		if (lastIds.length > 2)
			return route.continue();
		/* The second request gets a new turn, as a server without resume support would start. */
		const turn = lastIds.length === 1 ? 'r-first' : 'r-second';
		return fulfillSse(route, [
			{ id: turn + '-1', event: 'meta', data: { session_id: 'browsertest-noresume', request_id: turn, agent: 'food' } },
			{ id: turn + '-2', event: 'delta', data: { text: 'We open ' } },
		]);
	});
	const dropped = await steps.ask(chat.page, 'What time do you open?');
	check(lastIds[1] === 'r-first-2', 'the retry sent Last-Event-ID ' + lastIds[1]);
	check(dropped.state === 'interrupted', 'the drop ended as ' + dropped.state);
	check(/could not be picked up/.test(dropped.note), 'no clear message about the drop: ' + dropped.note);
	check(dropped.text === 'We open ', 'the partial answer is gone: ' + dropped.text);

	const before = await steps.agentCount(chat.page);
	await chat.page.getByRole('button', { name: 'Send again' }).click();
	await steps.waitTurnEnd(chat.page, before - 1);
	const reply = await steps.lastAgent(chat.page);
	check(reply.state === 'done' && reply.text !== 'We open ', 'Send again did not answer: ' + JSON.stringify(reply));
	check(lastIds.length === 3 && lastIds[2] === null, 'Send again sent Last-Event-ID ' + lastIds[2]);
	await steps.checkNoProblems(chat.problems);
});

offline('expired resume asks to resend', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const lastIds = [];
	await chat.page.route('**/v1/chat', function (route) {
		lastIds.push(route.request().headers()['last-event-id'] || null);
		if (lastIds.length > 1)
			return route.continue();
		return fulfillSse(route, [
			{ id: 'r-expired-1', event: 'meta', data: { session_id: 'browsertest-expired', request_id: 'r-expired', agent: 'food' } },
			{ id: 'r-expired-2', event: 'delta', data: { text: 'We open ' } },
		]);
	});
	/* maitred has no events for r-expired, so it returns 404 for the resume. */
	const dropped = await steps.ask(chat.page, 'What time do you open?');
	check(lastIds[1] === 'r-expired-2', 'the retry sent Last-Event-ID ' + lastIds[1]);
	check(dropped.state === 'interrupted', 'the drop ended as ' + dropped.state);
	check(/could not be picked up/.test(dropped.note), 'no clear message about the drop: ' + dropped.note);
	check(await chat.page.getByRole('button', { name: 'Send again' }).isVisible(), 'no Send again button');
	await steps.checkNoProblems(chat.problems);
});

offline('cut stream resumes from the server', async function (t) {
	const expected = JSON.parse((await request(t.server.url + '/v1/chat', { method: 'POST',
		headers: { 'Content-Type': 'application/json' }, body: { message: 'Do you have vegan starters?' } })).body).reply;
	const proxy = await CuttingProxy.start(t.server.port);
	t.cleanups.push(function () { return proxy.stop(); });
	const chat = await steps.openChat(t.browser, { url: proxy.url });
	t.context = chat.context;
	const lastIds = [];
	chat.page.on('request', function (req) {
		if (req.url().endsWith('/v1/chat'))
			lastIds.push(req.headers()['last-event-id'] || null);
	});

	proxy.cutNextChat(2, false);
	const reply = await steps.ask(chat.page, 'Do you have vegan starters?');
	check(proxy.cuts === 1, 'the proxy cut ' + proxy.cuts + ' streams');
	check(lastIds.length === 2 && /^[A-Za-z0-9_-]+-\d+$/.test(lastIds[1]), 'Last-Event-ID headers were ' + JSON.stringify(lastIds) + ', reply ' + JSON.stringify(reply));
	check(reply.state === 'done', 'the resumed answer ended as ' + reply.state + ': ' + reply.note);
	check(reply.text === expected, 'the resumed text is ' + JSON.stringify(reply.text) + ', expected ' + JSON.stringify(expected));
	await steps.checkNoProblems(chat.problems);
});

offline('page passes axe on phone and desktop', async function (t) {
	const chat = await steps.openChat(t.browser, t.server, { viewport: PHONE_VIEWPORT, bypassCSP: true });
	t.context = chat.context;
	const page = chat.page;
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	await runAxe(page, '360x740 welcome');
	await page.screenshot({ path: path.join(ARTIFACTS, 'chat-phone-welcome.png') });

	await steps.ask(page, 'Do you have vegan starters?');
	const date = await openDay(t.server, '19:00');
	const code = await steps.book(page, date, '19:00');
	await steps.cardFor(page, code).scrollIntoViewIfNeeded();
	const overflow = await page.evaluate(function () { return document.documentElement.scrollWidth; });
	check(overflow <= PHONE_VIEWPORT.width, 'the page is ' + overflow + ' px wide on a 360 px phone');
	await page.screenshot({ path: path.join(ARTIFACTS, 'chat-phone.png') });
	await runAxe(page, '360x740 with a reservation');

	/* A reload forgets the phone typed in the chat, so the cancel form shows the phone field. */
	await page.setViewportSize(DESKTOP_VIEWPORT);
	await page.reload();
	await steps.waitReady(page);
	await page.screenshot({ path: path.join(ARTIFACTS, 'chat-desktop.png') });
	await runAxe(page, '1280x800 with a reservation');
	await steps.cardFor(page, code).getByRole('button', { name: 'Cancel booking' }).click();
	await runAxe(page, '1280x800 with the cancel form');
	await page.screenshot({ path: path.join(ARTIFACTS, 'chat-desktop-cancel.png') });
	await steps.checkNoProblems(chat.problems.filter(function (p) { return !/CSP/.test(p); }));
});

/* ---- the test upstream as the model ---- */

online('model tokens stream into the page', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const sampling = steps.startSampler(chat.page);
	await steps.type(chat.page, 'Do you have vegan starters?');
	const samples = await sampling;
	const reply = await steps.lastAgent(chat.page);

	check(reply.state === 'done', 'the answer ended as ' + reply.state + ': ' + reply.note);
	const lengths = steps.streamingLengths(samples);
	check(lengths.size >= 3, 'saw ' + lengths.size + ' text lengths while streaming, expected 3 or more');
	const first = samples.find(function (s) { return s.state === 'streaming' && s.length > 0; });
	const end = samples[samples.length - 1];
	check(first && end.ms - first.ms >= 500, 'the text did not grow over time: first words at ' +
		(first && Math.round(first.ms)) + ' ms, done at ' + Math.round(end.ms) + ' ms');
	check(samples.some(function (s) { return /menu/.test(s.status); }), 'no notice while the menu tool ran');
	await steps.checkNoProblems(chat.problems);
});

online('queue position is shown while waiting', async function (t) {
	/* Three guests ahead hold the only agent slot (MAX_CONCURRENT_CREWS=1)
	 * for 2 s each, with a greeting that needs no tool. */
	await t.upstream.faults([{ kind: 'stall_before', seconds: 2, match: 'hold the agent', count: 3 }]);
	const holders = [];
	for (let i = 0; i < 3; i++) {
		holders.push(request(t.server.url + '/v1/chat', { method: 'POST', timeoutMs: 60000,
			headers: { 'Content-Type': 'application/json' }, body: { message: 'Hello, hold the agent ' + i } }));
		await sleep(300);
	}
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const sampling = steps.startSampler(chat.page);
	await steps.type(chat.page, 'Hello there');
	const samples = await sampling;
	await Promise.all(holders);

	const queued = samples.map(function (s) { return s.status; }).filter(function (s) { return /in line/.test(s); });
	check(queued.length, 'no queue position shown: ' + JSON.stringify(samples.slice(0, 3)));
	check(/You are number [23] in line/.test(queued[0]), 'unexpected first queue text ' + queued[0]);
	check(queued.includes('You are next in line.'), 'the position did not count down: ' + JSON.stringify(queued));
	check((await steps.lastAgent(chat.page)).state === 'done', 'the queued turn did not finish');
	await steps.checkNoProblems(chat.problems);
});

online('status notice while the model is slow', async function (t) {
	await t.upstream.faults([{ kind: 'stall_before', seconds: 3, match: 'slow soup' }]);
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const sampling = steps.startSampler(chat.page);
	await steps.type(chat.page, 'A slow soup question: is the gazpacho vegan?');
	const samples = await sampling;
	check(samples.some(function (s) { return /Still working/.test(s.status); }), 'no "still working" notice: ' +
		JSON.stringify(samples.map(function (s) { return s.status; }).filter(Boolean).slice(0, 5)));
	check((await steps.lastAgent(chat.page)).state === 'done', 'the slow turn did not finish');
	await steps.checkNoProblems(chat.problems);
});

online('booking with the model shows a card', async function (t) {
	const chat = await steps.openChat(t.browser, t.server);
	t.context = chat.context;
	const date = await openDay(t.server, '21:00');
	const code = await steps.book(chat.page, date, '21:00');
	check(reservationStatus(t.server, code) === 'confirmed', 'PostgreSQL does not have ' + code + ' confirmed');
	await steps.checkNoProblems(chat.problems);
});

online('cut stream follows the live turn', async function (t) {
	const proxy = await CuttingProxy.start(t.server.port);
	t.cleanups.push(function () { return proxy.stop(); });
	const chat = await steps.openChat(t.browser, { url: proxy.url });
	t.context = chat.context;
	const lastIds = [];
	chat.page.on('request', function (req) {
		if (req.url().endsWith('/v1/chat'))
			lastIds.push(req.headers()['last-event-id'] || null);
	});

	proxy.cutNextChat(3, false);
	const sampling = steps.startSampler(chat.page);
	await steps.type(chat.page, 'Do you have vegan starters?');
	const samples = await sampling;
	const reply = await steps.lastAgent(chat.page);
	check(proxy.cuts === 1, 'the proxy cut ' + proxy.cuts + ' streams');
	check(lastIds.length === 2 && lastIds[1], 'Last-Event-ID headers were ' + JSON.stringify(lastIds));
	check(reply.state === 'done', 'the resumed answer ended as ' + reply.state + ': ' + reply.note);
	check(samples.some(function (s) { return /Reconnecting/.test(s.status); }), 'no notice while reconnecting');
	const vegan = psql(t.server.databaseUrl, "SELECT name FROM dishes WHERE category = 'starter' AND 'vegan' = ANY(tags)");
	check(vegan.length, 'the seed menu has no vegan starters');
	vegan.forEach(function (row) {
		check(reply.text.includes(row[0]), 'the resumed answer lacks ' + row[0] + ': ' + reply.text);
	});
	await steps.checkNoProblems(chat.problems);
});

online('lost connection ends as interrupted', async function (t) {
	const proxy = await CuttingProxy.start(t.server.port);
	t.cleanups.push(function () { return proxy.stop(); });
	const chat = await steps.openChat(t.browser, { url: proxy.url });
	t.context = chat.context;

	/* Closing the server's side too stops the turn, so the resume replays
	 * what was sent and ends with the interrupted error. */
	proxy.cutNextChat(3, true);
	const reply = await steps.ask(chat.page, 'Do you have vegan starters?');
	check(proxy.cuts === 1, 'the proxy cut ' + proxy.cuts + ' streams');
	check(reply.state === 'interrupted', 'the answer ended as ' + reply.state + ': ' + reply.note);
	check(/could not be picked up/.test(reply.note), 'no clear message about the drop: ' + reply.note);
	check(reply.text.length > 0, 'the words sent before the drop are gone');
	check(await chat.page.getByRole('button', { name: 'Send again' }).isVisible(), 'no Send again button');
	await steps.checkNoProblems(chat.problems);
});

/* ---- another restaurant's name and a light brand colour ---- */

const BRAND_NAME = 'Chez <b>Léa</b> & Fils';
const BRAND_COLOR = '#f5c518';

branded('light brand colour keeps contrast', async function (t) {
	const chat = await steps.openChat(t.browser, t.server, { viewport: PHONE_VIEWPORT, bypassCSP: true });
	t.context = chat.context;
	const page = chat.page;
	check(await page.textContent('h1') === BRAND_NAME, 'the name is not shown as text: ' + await page.textContent('h1'));
	check(await page.locator('h1 b').count() === 0, 'the restaurant name became HTML');
	await steps.ask(page, 'Do you have vegan starters?');
	const colors = await page.evaluate(function () {
		const guest = getComputedStyle(document.querySelector('.msg-guest .bubble'));
		return { background: guest.backgroundColor, text: guest.color };
	});
	check(colors.background === 'rgb(245, 197, 24)', 'the guest bubble is ' + colors.background + ', not ' + BRAND_COLOR);
	check(colors.text !== 'rgb(255, 255, 255)', 'white text on a light brand colour');
	await runAxe(page, '360x740 with ' + BRAND_COLOR);
	await page.screenshot({ path: path.join(ARTIFACTS, 'chat-phone-light-brand.png') });
});

/* ---- runner ---- */

const totals = { passed: 0, failed: 0 };

function withTimeout(promise, ms, name) {
	let timer;
	return Promise.race([promise, new Promise(function (resolve, reject) {
		timer = setTimeout(function () { reject(new Error(name + ' timed out after ' + ms + ' ms')); }, ms);
	})]).finally(function () { clearTimeout(timer); });
}

async function runCases(cases, setup) {
	for (const c of selected(cases)) {
		const t = Object.assign({}, setup, { context: null, cleanups: [] });
		try {
			await withTimeout(c.fn(t), CASE_TIMEOUT_MS, c.name);
			totals.passed++;
			console.log('ok   ' + c.name);
		} catch (err) {
			totals.failed++;
			console.log('FAIL ' + c.name + '\n     ' + String(err && err.stack || err).split('\n').slice(0, 4).join('\n     '));
		} finally {
			if (t.context)
				await t.context.close().catch(function () {});
			for (const cleanup of t.cleanups)
				await cleanup();
		}
	}
}

/* An argument runs only the cases whose name contains it, as build/unit-tests NAME does. */
function selected(cases) {
	const only = process.argv[2];
	return only ? cases.filter(function (c) { return c.name.includes(only); }) : cases;
}

function failAll(cases, err) {
	selected(cases).forEach(function (c) {
		totals.failed++;
		console.log('FAIL ' + c.name + '\n     setup failed: ' + (err && err.message || err));
	});
}

async function runOffline(browser, databaseUrl) {
	let server = null;
	console.log('== browser: offline agent');
	try {
		server = await Maitred.start(databaseUrl, 'offline');
		await runCases(offlineCases, { browser: browser, server: server });
	} catch (err) {
		failAll(offlineCases, err);
	} finally {
		if (server)
			await server.stop();
	}
}

async function runOnline(browser, databaseUrl) {
	let server = null, upstream = null;
	console.log('== browser: test upstream as the model');
	try {
		upstream = await Upstream.start(['--ttft-ms', '200', '--token-ms', '60']);
		server = await Maitred.start(databaseUrl, 'online', { OPENAI_API_KEY: 'sk-test',
			OPENAI_BASE_URL: upstream.url + '/v1', MAX_CONCURRENT_CREWS: '1', STATUS_AFTER: '1' });
		await runCases(onlineCases, { browser: browser, server: server, upstream: upstream });
	} catch (err) {
		failAll(onlineCases, err);
	} finally {
		if (server)
			await server.stop();
		if (upstream)
			await upstream.stop();
	}
}

async function runBranded(browser, databaseUrl) {
	let server = null;
	console.log('== browser: another name and colour');
	try {
		server = await Maitred.start(databaseUrl, 'branded', { RESTAURANT_NAME: BRAND_NAME, BRAND_COLOR: BRAND_COLOR });
		await runCases(brandedCases, { browser: browser, server: server });
	} catch (err) {
		failAll(brandedCases, err);
	} finally {
		if (server)
			await server.stop();
	}
}

async function main() {
	let browser = null;
	try {
		const databaseUrl = freshDatabase('maitred_browser');
		browser = await launchChromium();
		if (selected(offlineCases).length)
			await runOffline(browser, databaseUrl);
		if (selected(brandedCases).length)
			await runBranded(browser, databaseUrl);
		if (selected(onlineCases).length)
			await runOnline(browser, databaseUrl);
	} catch (err) {
		console.log('FAIL setup: ' + (err && err.message || err));
		totals.failed++;
	} finally {
		if (browser)
			await browser.close().catch(function () {});
	}
	console.log(totals.passed + ' passed, ' + totals.failed + ' failed');
	process.exitCode = totals.failed ? 1 : 0;
}

main();
