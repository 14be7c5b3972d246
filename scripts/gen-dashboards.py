#!/usr/bin/env python3
# Writes the Grafana dashboards of deploy/grafana/dashboards (fleet, device trends, pipeline health) from this one
# description; edit here and run: python3 scripts/gen-dashboards.py deploy/grafana/dashboards
# tests/QcPipeline.Service.Tests/DeployTests.cs checks that every query names a metric the service exports.
import json, sys
DS = {"type": "prometheus", "uid": "qc-prometheus"}
def target(expr, legend="", instant=False, fmt="time_series", ref="A"):
    t = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend}
    if instant: t.update({"instant": True, "range": False, "format": fmt})
    return t
def panel(pid, title, typ, targets, x, y, w, h, **extra):
    p = {"id": pid, "title": title, "type": typ, "datasource": DS, "targets": targets,
         "gridPos": {"x": x, "y": y, "w": w, "h": h}}
    p.update(extra); return p
def dash(uid, title, panels, templating=None, desc=""):
    return {"uid": uid, "title": title, "description": desc, "tags": ["qcpipeline"], "timezone": "browser",
            "schemaVersion": 39, "version": 1, "refresh": "1m", "time": {"from": "now-30d", "to": "now"},
            "templating": {"list": templating or []}, "panels": panels}
passfail = [{"type": "value", "options": {"1": {"text": "PASS", "color": "green"}, "0": {"text": "FAIL", "color": "red"}}}]
overdue = [{"type": "value", "options": {"1": {"text": "OVERDUE", "color": "orange"}, "0": {"text": "ok", "color": "green"}}}]
matrix = lambda: [{"id": "groupingToMatrix", "options": {"columnField": "test", "rowField": "device", "valueField": "Value"}}]
cellcolor = {"custom": {"cellOptions": {"type": "color-background"}, "align": "center"}}

fleet = dash("qc-fleet", "QC fleet overview", [
    panel(1, "Devices", "stat", [target("count(qc_device_info)", instant=True)], 0, 0, 4, 4),
    panel(2, "Failing tests", "stat", [target("count(qc_test_passed == 0 and on (device, test) qc_test_last_run_timestamp_seconds) or vector(0)", instant=True)], 4, 0, 4, 4,
          fieldConfig={"defaults": {"thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]}}, "overrides": []}),
    panel(3, "Overdue tests", "stat", [target("sum(qc_test_overdue) or vector(0)", instant=True)], 8, 0, 4, 4,
          fieldConfig={"defaults": {"thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 1}]}}, "overrides": []}),
    panel(4, "Lowest label compliance (30 d)", "stat", [target("min(qc_label_compliance_ratio)", instant=True)], 12, 0, 6, 4,
          fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1}, "overrides": []}),
    panel(5, "Gauges rebuilt", "stat", [target("time() - max(qc_gauges_refresh_timestamp_seconds)", instant=True)], 18, 0, 6, 4,
          fieldConfig={"defaults": {"unit": "s"}, "overrides": []}),
    panel(6, "Pass / fail: device × test (latest result)", "table", [target("qc_test_passed", instant=True, fmt="table")], 0, 4, 24, 10,
          transformations=matrix(), fieldConfig={"defaults": dict(cellcolor, mappings=passfail), "overrides": []}),
    panel(7, "Overdue: device × test (test plan)", "table", [target("qc_test_overdue", instant=True, fmt="table")], 0, 14, 24, 8,
          transformations=matrix(), fieldConfig={"defaults": dict(cellcolor, mappings=overdue), "overrides": []}),
    panel(8, "Days since last pass", "table", [target("(time() - qc_test_last_pass_timestamp_seconds) / 86400", instant=True, fmt="table")], 0, 22, 12, 8,
          transformations=matrix(), fieldConfig={"defaults": {"decimals": 0, "unit": "d"}, "overrides": []}),
    panel(9, "Label compliance per device (30 d)", "bargauge", [target("qc_label_compliance_ratio", "{{device}}", instant=True)], 12, 22, 12, 8,
          fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1, "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "orange", "value": 0.9}, {"color": "green", "value": 0.98}]}}, "overrides": []}),
], desc="Every device and test: the latest verdict, what is overdue, label compliance. Data: QC gauges of the API role.")

dev_vars = [
    {"name": "device", "type": "query", "datasource": DS, "query": {"query": "label_values(qc_device_info, device)", "refId": "device"}, "refresh": 2},
    {"name": "test", "type": "query", "datasource": DS, "query": {"query": "label_values(qc_test_passed{device=\"$device\"}, test)", "refId": "test"}, "refresh": 2, "multi": True, "includeAll": True},
]
device = dash("qc-device", "QC device trends", [
    panel(1, "Metric values with limits ($test)", "timeseries", [
        target('qc_metric_value{device="$device", test=~"$test"}', "{{test}} {{metric}}", ref="A"),
        target('qc_metric_limit_min{device="$device", test=~"$test"}', "{{metric}} lower limit", ref="B"),
        target('qc_metric_limit_max{device="$device", test=~"$test"}', "{{metric}} upper limit", ref="C")], 0, 0, 24, 10,
        fieldConfig={"defaults": {"custom": {"drawStyle": "line", "lineInterpolation": "stepAfter"}}, "overrides": [
            {"matcher": {"id": "byRegexp", "options": ".*limit"}, "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}, {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}}]}]}),
    panel(2, "Verdict over time", "state-timeline", [target('qc_test_passed{device="$device", test=~"$test"}', "{{test}}")], 0, 10, 24, 6,
          fieldConfig={"defaults": {"mappings": passfail}, "overrides": []}),
    panel(3, "Due", "table", [target('qc_test_due_timestamp_seconds{device="$device"} * 1000', instant=True, fmt="table")], 0, 16, 12, 7,
          fieldConfig={"defaults": {"unit": "dateTimeAsIso"}, "overrides": []}),
    panel(4, "Overdue", "table", [target('qc_test_overdue{device="$device"}', instant=True, fmt="table")], 12, 16, 12, 7,
          fieldConfig={"defaults": dict(cellcolor, mappings=overdue), "overrides": []}),
    panel(5, "Label findings per day, by rule", "timeseries", [target('increase(qc_label_findings_total{device="$device"}[1d])', "{{rule}}")], 0, 23, 12, 8),
    panel(6, "Label compliance (30 d)", "timeseries", [target('qc_label_compliance_ratio{device="$device"}', "compliance")], 12, 23, 12, 8,
          fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1}, "overrides": []}),
], templating=dev_vars, desc="One device: each metric of its latest results over time with the limit band it was judged by.")

pipe = dash("qc-pipeline", "Ingest and pipeline health", [
    panel(1, "Ingest by result (C-STORE and STOW-RS)", "timeseries", [target("sum by (result) (rate(qc_ingest_total[5m]))", "{{result}}")], 0, 0, 12, 8, fieldConfig={"defaults": {"unit": "reqps"}, "overrides": []}),
    panel(2, "Ingest failures by reason", "timeseries", [target("sum by (reason) (rate(qc_ingest_failures_total[5m]))", "{{reason}}")], 12, 0, 12, 8),
    panel(3, "C-STORE by status class", "timeseries", [target("sum by (status_class) (rate(qc_dimse_instances_total[5m]))", "{{status_class}}")], 0, 8, 8, 8),
    panel(4, "STOW-RS parts", "timeseries", [target("sum by (result) (rate(qc_stow_instances_total[5m]))", "{{result}}")], 8, 8, 8, 8),
    panel(5, "Active associations", "timeseries", [target("sum(qc_dimse_active_associations)", "associations")], 16, 8, 8, 8),
    panel(6, "C-STORE response time p95", "timeseries", [target("histogram_quantile(0.95, sum by (le) (rate(qc_dimse_store_duration_seconds_bucket[5m])))", "p95")], 0, 16, 12, 8, fieldConfig={"defaults": {"unit": "s"}, "overrides": []}),
    panel(7, "STOW-RS request time p95", "timeseries", [target("histogram_quantile(0.95, sum by (le) (rate(qc_stow_request_duration_seconds_bucket[5m])))", "p95")], 12, 16, 12, 8, fieldConfig={"defaults": {"unit": "s"}, "overrides": []}),
    panel(8, "Outbox backlog", "timeseries", [target("sum by (instance) (qc_outbox_pending)", "{{instance}}", ref="A"), target("sum(rate(qc_outbox_publish_failures_total[5m]))", "publish failures/s", ref="B")], 0, 24, 12, 8),
    panel(9, "Queue lag p95 (claimed → analysis start)", "timeseries", [target("histogram_quantile(0.95, sum by (le) (rate(qc_analysis_queue_lag_seconds_bucket[15m])))", "p95")], 12, 24, 12, 8, fieldConfig={"defaults": {"unit": "s"}, "overrides": []}),
    panel(10, "Analysis duration p95 by kind", "timeseries", [target("histogram_quantile(0.95, sum by (le, kind) (rate(qc_analysis_duration_seconds_bucket[15m])))", "{{kind}}")], 0, 32, 12, 8, fieldConfig={"defaults": {"unit": "s"}, "overrides": []}),
    panel(11, "Results by verdict", "timeseries", [target("sum by (verdict) (increase(qc_results_recorded_total[1h]))", "{{verdict}}")], 12, 32, 12, 8),
    panel(12, "Bus: consumed and faulted", "timeseries", [target("sum by (message_type) (rate(qc_bus_consumed_total[5m]))", "{{message_type}} ok", ref="A"), target("sum by (message_type) (rate(qc_bus_consume_faults_total[5m]))", "{{message_type}} faults", ref="B")], 0, 40, 12, 8),
    panel(13, "Processes up, by role", "timeseries", [target('sum by (job) (up{job=~"qcpipeline-.*"})', "{{job}}")], 12, 40, 12, 8),
    panel(14, "Retention: deleted per day", "timeseries", [target("sum by (kind) (increase(qc_retention_deleted_total[1d]))", "{{kind}}")], 0, 48, 12, 8),
    panel(15, "Worklist C-FIND by final status", "timeseries", [target('sum by (status_class, status) (rate(qc_dimse_requests_total{command="C-FIND"}[5m]))', "{{status_class}} {{status}}")], 12, 48, 12, 8, fieldConfig={"defaults": {"unit": "reqps"}, "overrides": []}),
], desc="Receivers, outbox, bus and workers: what ops watch for ingestion stopping or analyses falling behind.")

out = sys.argv[1]
for name, d in (("fleet", fleet), ("device-trends", device), ("pipeline", pipe)):
    with open(f"{out}/{name}.json", "w") as f:
        json.dump(d, f, indent=2, ensure_ascii=False); f.write("\n")
