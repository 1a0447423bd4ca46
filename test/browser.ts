import { after } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serveStatic } from '../src/export/site.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Debian Chromium driven by playwright-core (no browser download; a fresh temporary profile). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Serve a static folder and open it in headless Chromium (server and browser closed after the tests); `errors`
 * collects the page's uncaught errors.
 */
export async function openServedPage(dir: string): Promise<{ page: Page; errors: string[] }> {
  const server = await serveStatic(dir);
  after(() => server.close());
  const browser = await launchBrowser();
  after(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  return { page, errors };
}
