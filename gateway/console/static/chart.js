// @ts-check
// The bar chart: lightweight-charts (npm, served from this gateway), fed with REST history and
// then with the stream's "bars" channel (the forming bar as it changes, then the closed bar).
import { CandlestickSeries, createChart } from "./vendor/lightweight-charts/lightweight-charts.standalone.production.mjs";

export class BarChart {
  /** @param {HTMLElement} element */
  constructor(element) {
    this.chart = createChart(element, {
      autoSize: true,
      // The library's own logo needs an inline <style>, which the CSP forbids; the page credits
      // TradingView in text instead, as the library's licence asks.
      layout: { background: { color: "#ffffff" }, textColor: "#1b1f24", attributionLogo: false },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    this.series = this.chart.addSeries(CandlestickSeries, {});
    this.updates = 0;
    element.dataset.updates = "0";
    this.element = element;
  }

  /** @param {Array<{time: number, open: number, high: number, low: number, close: number}>} bars */
  load(bars) {
    this.series.setData(bars.map(toPoint));
    this.chart.timeScale().fitContent();
  }

  /** @param {{time: number, open: number, high: number, low: number, close: number}} bar */
  update(bar) {
    this.series.update(toPoint(bar));
    this.updates += 1;
    this.element.dataset.updates = String(this.updates);
    this.element.dataset.lastClose = String(bar.close);
  }
}

/** @param {{time: number, open: number, high: number, low: number, close: number}} bar */
function toPoint(bar) {
  const time = /** @type {import("lightweight-charts").UTCTimestamp} */ (bar.time);
  return { time, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
}
