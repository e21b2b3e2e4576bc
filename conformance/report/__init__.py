"""Report writers: results.json, junit.xml, report.html."""
