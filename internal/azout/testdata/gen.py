# Generates golden/*.{json,yaml,table,tsv} from cases.json with the output
# code az 2.45 uses: knack 0.10.1, tabulate 0.8.9, PyYAML 6.0, jmespath
# 1.0.1 (Debian bookworm: python3-knack python3-tabulate python3-yaml
# python3-jmespath). Run: /usr/bin/python3 gen.py (from this directory).
import collections, json, os
import jmespath
from knack.output import format_json, format_yaml, format_table, format_tsv
from knack.util import CommandResultItem

os.makedirs('golden', exist_ok=True)
for case in json.load(open('cases.json')):
    result, transformer, query = case['input'], None, case.get('query')
    if 'ordered' in case:
        keys = case['ordered']
        result = [collections.OrderedDict((k, r[k]) for k in keys) for r in result]
        transformer = lambda r: r
    if query:
        result = jmespath.compile(query).search(result, jmespath.Options(collections.OrderedDict))
    for fmt, fn in (('json', format_json), ('yaml', format_yaml), ('table', format_table), ('tsv', format_tsv)):
        path = os.path.join('golden', case['name'] + '.' + fmt)
        if result is None:
            out = ''
        else:
            try:
                out = fn(CommandResultItem(result, table_transformer=transformer, is_query_active=bool(query)))
            except Exception as ex:  # knack's CLIError for tables it cannot show
                out = 'ERROR: ' + str(ex) + '\n'
        with open(path, 'w') as f:
            f.write(out)
