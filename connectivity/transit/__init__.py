"""Transit: GTFS feeds read into one service day's :class:`~connectivity.Timetable`.

Reading feeds, calendars, the Timetable and its patterns, the routing-oriented audit,
writing feeds, and feeds estimated from OpenStreetMap route relations. A first stage
beside ``streets``; the two never import each other.
"""
