package datasets

import (
	"fmt"
	"strings"
)

// CheckClassNames tells what is wrong with a list of class names given for a model's head (model.json, a weights
// file's label_names or id2label), if anything: a blank name (empty or only spaces) would label predictions with
// nothing, and a name given twice would make two classes one for a reader. nil and an empty list are fine (no
// names: classes are labelled by number).
func CheckClassNames(names []string) error {
	seen := make(map[string]int, len(names))
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("class %d has a blank name %q", i, n)
		}
		if j, ok := seen[n]; ok {
			return fmt.Errorf("classes %d and %d have the same name %q", j, i, n)
		}
		seen[n] = i
	}
	return nil
}

// SameClasses tells, in one line, how the class names of a model (model, nil when unknown) differ from those of a
// data set it is evaluated on, if they do: a different count, or the first class whose name differs (the same
// names in another order are different labels too). nil model names cannot be compared and are not an error.
func SameClasses(model []string, ds *Dataset) error {
	if ds == nil || model == nil {
		return nil
	}
	if len(model) != len(ds.Classes) {
		return fmt.Errorf("the model has %d classes, %s has %d", len(model), ds.Name, len(ds.Classes))
	}
	for i, name := range model {
		if name != ds.Classes[i] {
			return fmt.Errorf("the model's class %d is %q, %s's is %q: it was trained on other classes (or in another order), "+
				"so its labels would be wrong here", i, name, ds.Name, ds.Classes[i])
		}
	}
	return nil
}
