'use strict';
/* What a guest does on the chat page, as Playwright steps, and what the
 * test reads back from it. */
const PHONE = '+33 6 12 34 56 78';
const NAME = 'Ann Smith';
const TURN_TIMEOUT_MS = 40000;

/* Opens the page in a new context. problems collects CSP violations and
 * uncaught errors, which every case checks at its end. */
async function openChat(browser, server, options) {
	const opts = options || {};
	const context = await browser.newContext({ viewport: opts.viewport || { width: 360, height: 740 },
		bypassCSP: Boolean(opts.bypassCSP) });
	const page = await context.newPage();
	const problems = [];
	page.on('console', function (msg) {
		if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text()))
			problems.push('CSP violation: ' + msg.text());
	});
	page.on('pageerror', function (err) { problems.push('uncaught error: ' + err.message); });
	await page.goto(server.url + '/');
	await page.waitForSelector('body[data-ready="true"]');
	return { context: context, page: page, problems: problems };
}

async function waitReady(page) {
	await page.waitForSelector('body[data-ready="true"]');
}

function agentCount(page) {
	return page.locator('.msg-agent').count();
}

/* Waits until the agent message after `before` ones has ended. */
async function waitTurnEnd(page, before, timeoutMs) {
	await page.waitForFunction(function (n) {
		const items = document.querySelectorAll('.msg-agent');
		if (items.length <= n)
			return false;
		const state = items[items.length - 1].dataset.state;
		return state !== 'streaming' && state !== 'waiting' && !document.body.classList.contains('is-busy');
	}, before, { timeout: timeoutMs || TURN_TIMEOUT_MS });
}

async function lastAgent(page) {
	return page.evaluate(function () {
		const items = document.querySelectorAll('.msg-agent');
		const last = items[items.length - 1];
		if (!last)
			return null;
		const note = last.querySelector('.msg-note');
		return { state: last.dataset.state, text: last.querySelector('.msg-text').textContent,
			note: note.hidden ? '' : note.textContent };
	});
}

async function type(page, text) {
	await page.fill('#message', text);
	await page.press('#message', 'Enter');
}

/* Sends a message, waits for the whole reply and returns lastAgent(). */
async function ask(page, text, timeoutMs) {
	const before = await agentCount(page);
	await type(page, text);
	await waitTurnEnd(page, before, timeoutMs);
	return lastAgent(page);
}

/* Starts recording, in the page, the last agent message every 15 ms: its
 * text length, state and status line, and the live region, until that
 * message has ended. Call it before sending and await the result after. */
async function startSampler(page) {
	const before = await agentCount(page);
	return page.evaluate(function (n) {
		return new Promise(function (resolve) {
			const samples = [];
			const started = performance.now();
			const timer = setInterval(function () {
				const items = document.querySelectorAll('.msg-agent');
				if (items.length <= n)
					return;
				const last = items[items.length - 1];
				const status = last.querySelector('.msg-status');
				samples.push({ ms: performance.now() - started, length: last.querySelector('.msg-text').textContent.length,
					state: last.dataset.state, status: status.hidden ? '' : status.textContent,
					live: document.getElementById('live').textContent });
				if (last.dataset.state !== 'streaming' && last.dataset.state !== 'waiting') {
					clearInterval(timer);
					resolve(samples);
				}
			}, 15);
			setTimeout(function () {
				clearInterval(timer);
				resolve(samples);
			}, 60000);
		});
	}, before);
}

function streamingLengths(samples) {
	const lengths = new Set();
	samples.forEach(function (s) {
		if (s.state === 'streaming' && s.length > 0)
			lengths.add(s.length);
	});
	return lengths;
}

/* Books a table for 2, replying to each question of the agent, and
 * returns the reservation code shown on the card. */
async function book(page, date, time) {
	const answers = [[/name/, 'My name is ' + NAME], [/phone/, PHONE], [/how many/, '2'],
		[/which day/, date], [/what time|which time/, time]];
	let reply = await ask(page, "I'd like a table for 2 on " + date + ' at ' + time);
	const seen = [reply.text];
	for (let round = 0; round < 6; round++) {
		const card = page.locator('.msg-agent').last().locator('.card');
		if (await card.count())
			return card.getAttribute('data-code');
		const answer = answers.find(function (a) { return a[0].test(reply.text.toLowerCase()); });
		if (!answer)
			throw new Error('the agent said something the test cannot answer: ' + JSON.stringify(reply));
		reply = await ask(page, answer[1]);
		seen.push(reply.text);
	}
	throw new Error('no reservation card after the booking dialogue: ' + JSON.stringify(seen));
}

function cardFor(page, code) {
	return page.locator('.card[data-code="' + code + '"]').last();
}

async function checkNoProblems(problems) {
	if (problems.length)
		throw new Error(problems.join('; '));
}

module.exports = { NAME, PHONE, agentCount, ask, book, cardFor, checkNoProblems, lastAgent, openChat,
	startSampler, streamingLengths, type, waitReady, waitTurnEnd };
