# Prints the scores of nbgrader's gradebook (gradebook.db in the working directory, the course folder) as one JSON
# line: a list of {Student, Assignment, Grade, Score, Max}, one per graded cell of each submission. Run by
# vitnb/notebook's Course.Check with nbgrader's Python.
import json

from nbgrader.api import Gradebook

rows = []
with Gradebook("sqlite:///gradebook.db") as gb:
    for assignment in gb.assignments:
        for submission in assignment.submissions:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    rows.append({"Student": submission.student.id, "Assignment": assignment.name,
                                 "Grade": grade.name, "Score": grade.score, "Max": grade.max_score})
print(json.dumps(rows))
