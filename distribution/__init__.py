"""Distribution (分发): what the views need beyond the rules in workflows/ — the issue's board,
CSV import and export, signed download links and the 签收单. Nothing here imports Flask."""
