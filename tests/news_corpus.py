"""Realistic news fixtures: one wire story carried by several outlets (whole and in part), stories written
from one template, unrelated stories that end with the same stock sentence, and a race report."""

from __future__ import annotations

PANDA_WIRE = """\
BERLIN (AP) — Two red panda cubs born at the Berlin Zoo are healthy and growing fast, the zoo announced Monday, a rare success for a species whose numbers in the wild keep falling.

The cubs were born on May 28 to mother Jang and father Wong, who came to Berlin from a breeding program in the Netherlands in 2019. Keepers left the family alone in a nesting box for the first weeks and watched them on a camera.

The zoo said the cubs, a male and a female, weighed about 110 grams each at birth and now weigh more than a kilogram. They will not be named until a vet confirms their sex at their next check-up in August.

Fewer than 10,000 red pandas are thought to live in the wild, in the forests of Nepal, India, Bhutan, Myanmar and China, according to the International Union for Conservation of Nature. Logging and farming have cut their habitat by half over three generations.

Visitors should be able to see the cubs outside the nesting box from early September, the zoo said.
"""

PANDA_LOCAL_EXTRA = """\
The Leipzig Zoo, which also keeps red pandas, said it hopes to borrow one of the Berlin cubs for its own breeding program next year. A spokeswoman said talks with Berlin had only just begun.
"""

# Two full copies of the wire story under different headlines, and a regional paper that printed only its
# first two paragraphs followed by a paragraph of its own.
PANDA_FILES = {
    "citypost-red-panda-cubs.txt": (
        "Title: Berlin Zoo shows off two red panda cubs\nSource: City Post\nAuthor: Anna Keller\n"
        "URL: https://citypost.example/2024/06/red-panda-cubs\nDate: 2024-06-24\n\n" + PANDA_WIRE
    ),
    "dailyherald-red-pandas.txt": (
        "Title: Red panda twins thrive in Berlin\nSource: Daily Herald\n"
        "URL: https://dailyherald.example/world/red-pandas-berlin\nDate: 2024-06-24\n\n"
        + PANDA_WIRE
        + "\nShare this article\n"
    ),
    "saxony-courier-pandas.txt": (
        "Title: Leipzig hopes for a Berlin red panda\nSource: Saxony Courier\nDate: 2024-06-25\n\n"
        + "\n\n".join(PANDA_WIRE.split("\n\n")[:2])
        + "\n\n"
        + PANDA_LOCAL_EXTRA
    ),
}

MARATHON = """\
Title: Chebet breaks Berlin course record
Source: Runner's World Daily
Author: Tom Baxter
Date: 2024-09-30

BERLIN — Kenya's Ruth Chebet won the Berlin Marathon on Sunday, finishing in 2 hours 19 minutes 48 seconds and breaking a course record that had stood since 2011.

Chebet pulled away from Ethiopia's Tigist Ayana after 35 kilometers and crossed the line almost a minute ahead of her. Ayana finished second and Germany's Lena Vogt was third.

"I felt strong after the halfway point, so I decided to go," Chebet said. The 27-year-old had never run faster than 2 hours 22 minutes before Sunday.

About 45,000 runners started the race under cool, dry skies. Organizers said the men's race, won by Kenya's Daniel Kiprop, was slower than expected because of a headwind along the Tiergarten.
"""

STROLLER_RECALL = """\
Title: Stroller maker recalls 80,000 strollers over folding hinge
Source: Consumer Desk
Date: 2024-03-12

Brightway Baby is recalling about 80,000 strollers sold in the United States and Canada because a hinge can unlock while the stroller is in use, the Consumer Product Safety Commission said Tuesday.

The recall covers the Brightway Glide and Glide Duo models sold at Target, Walmart and online between January 2022 and February 2024 for about $250. The agency said it had received 14 reports of the frame folding, including three in which a child suffered bruises or cuts.

Parents should stop using the strollers and contact Brightway Baby for a free repair kit, the agency said.

The company did not immediately respond to a request for comment.
"""

TELECOM_BREACH = """\
Title: Hackers stole data of 2 million Northline customers
Source: Tech Ledger
Date: 2024-05-08

Northline Mobile said Wednesday that hackers had stolen names, addresses and account numbers of about 2 million customers in an attack on a billing system that was discovered last month.

The Denver-based carrier said passwords and payment card numbers were not taken. It has notified the FBI and will offer affected customers two years of free credit monitoring.

Northline's shares fell 6% in afternoon trading. Analysts said the breach was the third at a U.S. carrier this year.

The company did not immediately respond to a request for comment.
"""

WILDFIRE_TEMPLATE = """\
Title: Wildfire near {town} forces evacuations
Source: {publisher}
Date: {date}

A wildfire near {town} has burned {acres} acres and destroyed {homes} homes, fire officials said {day}, as crews struggled to contain it in hot, windy weather.

The fire was {contained} percent contained by {day} evening. Officials ordered about {evacuated} residents to leave their homes and opened a shelter at {shelter}.

The cause of the fire is under investigation, officials said.
"""

WILDFIRE_FILES = {
    "wildfire-paradise-valley.txt": WILDFIRE_TEMPLATE.format(
        town="Paradise Valley",
        publisher="Valley Tribune",
        date="2024-07-16",
        acres="12,400",
        homes="38",
        day="Tuesday",
        contained="15",
        evacuated="3,000",
        shelter="Paradise Valley High School",
    ),
    "wildfire-cedar-ridge.txt": WILDFIRE_TEMPLATE.format(
        town="Cedar Ridge",
        publisher="Mountain Courier",
        date="2024-08-02",
        acres="5,900",
        homes="11",
        day="Friday",
        contained="40",
        evacuated="1,200",
        shelter="the Cedar Ridge community center",
    ),
}

NEWS_FILES: dict[str, str] = {
    **PANDA_FILES,
    "marathon-chebet.txt": MARATHON,
    "stroller-recall.txt": STROLLER_RECALL,
    "northline-breach.txt": TELECOM_BREACH,
    **WILDFIRE_FILES,
}

# Questions a reader might ask of these stories.
NEWS_QUESTIONS = (
    "When were the red panda cubs born?",
    "How many red pandas live in the wild?",
    "Which zoo hopes to borrow a cub?",
    "How much did the cubs weigh at birth?",
    "What time did Chebet run?",
    "When was the record set before?",
    "Who finished second in the Berlin Marathon?",
    "Did the company respond to a request for comment?",
    "How many strollers are being recalled?",
    "How many acres has the wildfire burned?",
    "How many homes did the fire destroy?",
    "Where did officials open a shelter?",
    "What caused the fire?",
    "How many customers had their data stolen?",
)
