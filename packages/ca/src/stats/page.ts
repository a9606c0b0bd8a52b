// The HTML of `/stats`: the three headline figures rendered on the server (readable without JavaScript) and two
// Chart.js charts drawn from the same document, embedded in the page so it needs no second request.
import type { StatsDocument } from './index.js';

const figure = (id: string, label: string, value: number) =>
  `<div class="figure"><div class="value" id="${id}" data-value="${value}">${value.toLocaleString('en-US')}</div><div class="label">${label}</div></div>`;

export function statsPage(document: StatsDocument, chartJsPath: string): string {
  // JSON inside <script>: "<" escaped so no value can close the element.
  const data = JSON.stringify(document).replace(/</g, '\\u003c');
  const asOf = document.computedAt ? `Counted at ${document.computedAt}.` : 'No snapshot has been taken yet.';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Certificate authority statistics</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
  .figures { display: flex; gap: 2rem; flex-wrap: wrap; margin: 1.5rem 0; }
  .figure { flex: 1; min-width: 12rem; border: 1px solid #ddd; border-radius: 6px; padding: 1rem; }
  .value { font-size: 2rem; font-weight: 600; }
  .label { color: #555; }
  .chart { position: relative; height: 20rem; margin: 2rem 0; }
</style>
</head>
<body>
<h1>Certificate authority statistics</h1>
<p id="as-of">${asOf} Active certificates are neither expired nor revoked; registered domains are eTLD+1 by the ICANN
section of the Public Suffix List.</p>
<div class="figures">
${figure('active-certificates', 'Active certificates', document.activeCertificates)}
${figure('fully-qualified-names', 'Fully-qualified names served', document.fullyQualifiedNames)}
${figure('registered-domains', 'Registered domains', document.registeredDomains)}
</div>
<h2>Over time</h2>
<div class="chart"><canvas id="active-chart" aria-label="Active certificates, names and registered domains per day" role="img"></canvas></div>
<h2>Issuance per day</h2>
<div class="chart"><canvas id="issuance-chart" aria-label="Certificates issued per day" role="img"></canvas></div>
<script id="stats-data" type="application/json">${data}</script>
<script src="${chartJsPath}"></script>
<script>
  const stats = JSON.parse(document.getElementById('stats-data').textContent);
  const labels = stats.days.map((d) => d.day);
  const options = { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } };
  const line = (label, key, color) => ({ label, data: stats.days.map((d) => d[key]), borderColor: color, backgroundColor: color, tension: 0.2 });
  new Chart(document.getElementById('active-chart'), {
    type: 'line',
    data: { labels, datasets: [
      line('Active certificates', 'activeCertificates', '#2a6ebb'),
      line('Fully-qualified names', 'names', '#d9822b'),
      line('Registered domains', 'registeredDomains', '#3a9a5b'),
    ] },
    options,
  });
  new Chart(document.getElementById('issuance-chart'), {
    type: 'bar',
    data: { labels, datasets: [{ label: 'Certificates issued', data: stats.days.map((d) => d.issued), backgroundColor: '#2a6ebb' }] },
    options,
  });
  document.body.dataset.chartsDrawn = 'true';
</script>
</body>
</html>
`;
}
