"""The clinical record: case files, patient fields, the assessment report."""
