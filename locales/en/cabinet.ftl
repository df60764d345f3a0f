# Messages of the bot in English. Arguments marked $ are filled in by the bot; text
# arguments are escaped for Telegram's HTML.

## Commands in Telegram's menu
cmd-start = Start
cmd-balance = Balance and operations
cmd-status = Where is my order
cmd-orders = My orders
cmd-help = What the bot can do
cmd-language = Language / Язык
cmd-privacy = How your data is used
cmd-logout = Log out
cmd-forget = Delete my data
cmd-notifications = Notifications

## Onboarding and consent
consent-request =
    Hello! This is your personal account in Telegram: your balance, orders and documents, a tap or two away.

    To recognise you, we need your phone number. By pressing "I agree", you allow us to process your phone number and this chat to serve you. Details: <a href="{ $url }">data processing terms</a>.
consent-button = I agree
consent-thanks = Thank you! Now press the "Share my phone number" button below so we can find your account.
contact-button = Share my phone number
onboarding-ask-contact = To continue, press the "Share my phone number" button at the bottom of the screen.
contact-typed = We can't accept a typed number. Press the "Share my phone number" button so Telegram confirms the number is yours.
contact-not-own = We can only accept your own number. Press the "Share my phone number" button at the bottom of the screen.
contact-invalid = We couldn't read this number. Please press "Share my phone number" again.
contact-not-found = Sorry, we couldn't find a customer with this number. We've passed your request to our team, and they'll get in touch. If you're a customer under another number, please contact support.
identified = Hello, { $name }! We've found your account.
already-bound = { $name }, you're already logged in.
menu-prompt = How can we help?
staff-new-lead = New access request: { $name }, phone { $phone } (Telegram ID { $user }). No customer has this number.

## Main menu
menu-balance = 💰 Balance
menu-order-status = 📦 Where is my order
menu-order-history = 🧾 My orders
menu-help = ❓ Help
menu-documents = 📄 Documents
menu-subscription = 📶 My plan

## Small talk
greeting = Hello, { $name }! How can we help?
help-intro = Here's what we can do:
help-balance = • show your balance, the next charge and recent transactions — "balance"
help-order = • tell you where your order is — "where is my order?" or "order 78234"
help-orders = • show your order history — "my orders" — and repeat an order — "repeat my last order"
help-orders-no-repeat = • show your order history — "my orders"
help-documents = • send a document — "send me the December invoice", "receipt for February", "contract"
help-top-up = • top up your balance — "top up"
help-plan = • change your plan, pause it or add an option — "change my plan"
help-loyalty = • bonus points, a personal offer and a link for friends — "my points", "referral link"
help-booking = • book an appointment, reschedule or cancel one — "book a haircut", "my appointments"
help-commands = Commands: { $commands }.
capability-absent = That isn't available in this chat. Here's what we can do:
thanks-reply = You're welcome! 🙂
unknown = Sorry, we didn't quite get that. Try putting it another way, or choose what you need:
operator = We can't help with this in the chat. Support is available daily, { $hours }: describe what happened, and a specialist will reply during working hours.
unsupported-content = We understand text and buttons. Please tell us in words what you need.
error-too-long = That message is too long. Please keep it to a sentence or two.
error-unavailable = Our system isn't responding right now. Please try again in a minute.
error-internal = Something went wrong. Please try again a little later.
button-inactive = This button is no longer active.

## Privacy, language, logout
privacy =
    We keep your phone number, the link to your Telegram account, your consent and this chat (for 180 days), only to serve you. Full terms (version { $version }): { $url }

    Delete this data: /forget. Log out: /logout.
forget-done = Done: we've deleted the link to your account, your consent, the conversation state and the chat history. The company's own records aren't affected. To start again, send /start.
logout-done = You're logged out. To log in again, send /start.
binding-replaced = Your phone number has just been confirmed from another Telegram account, so this chat is no longer linked to your account. If the number is yours, send /start and share it again.
logout-not-bound = You're not logged in yet. Send /start to begin.
language-choose = Choose your language / Выберите язык:
language-ru = Русский
language-en = English
language-switched = Done. We'll talk in English from now on.

## Balance
balance-title = 💰 Your balance: <b>{ $balance }</b>
balance-next-charge = Next charge: { $amount } ({ $tariff } plan) on { $date }.
balance-next-charge-no-tariff = Next charge: { $amount } on { $date }.
balance-days-left = On your current plan, that's enough for about { $days } { $days ->
        [one] day
       *[other] days
    }.
balance-bonus = Bonus points: { $points_text }
balance-operations = Recent transactions:
balance-operation = { $date } · { $amount } · { $title }
balance-top-up-button = Top up
balance-no-account = We couldn't find a billing account for you. If that's a mistake, please contact support.
bonuses = You have { $points_text } bonus { $points ->
        [one] point
       *[other] points
    }.

## Orders
order-status-new = accepted
order-status-assembling = being packed
order-status-in-transit = on its way
order-status-delivered = delivered
order-status-cancelled = cancelled
order-status-other = { $status }
order-card-title = 📦 <b>Order #{ $number }</b>, placed on { $date }: { $status }
order-tracking = Tracking number: { $tracking } ({ $carrier })
order-window = Delivery: { $window }
order-courier = Courier: { $name }, { $phone }
order-delivered-at = Delivered on { $date }
order-map-button = 📍 Show on the map
order-details-button = Details
order-no-location = We don't know the courier's location yet.
order-not-found = We couldn't find that order. Please check the number: { $number }.
orders-none-active = You have no active orders right now.
order-cancel-ask = Cancel order #{ $number } placed on { $date } for { $total }? It is { $status } now.
order-cancel-yes-button = Yes, cancel it
order-cancel-done = Order #{ $number } is cancelled. If you have paid for it, the money goes back the way you paid.
order-cancel-already = Order #{ $number } is already cancelled.
order-cancel-too-late = Order #{ $number } is already { $status }, so it can't be cancelled in the chat. Shall we pass your request to our staff?
order-cancel-unsupported = Orders are cancelled by our staff. Shall we pass your request for order #{ $number } to them?
order-cancel-not-active = Order #{ $number } is already { $status }; there is nothing to cancel.
order-cancel-person-button = 🙋 Ask our staff
order-cancel-choose = Which order would you like to cancel?
order-cancel-choice = #{ $number } placed on { $date }
order-cancel-none = You have no orders that can be cancelled right now.
orders-none = You have no orders yet.
orders-history-title = 🧾 Your orders ({ $from }–{ $to } of { $total }):
orders-history-line = #{ $number } · { $date } · { $total } · { $status }
order-open-button = Order #{ $number }
page-previous = ‹ Back
page-next = Next ›
orders-back-button = ‹ Back to orders
order-items = Items:
order-item = • { $name } × { $qty } — { $price }
order-total = Total: <b>{ $total }</b>
order-address = Delivery address: { $address }

## "Did you mean…?"
clarify = Did you mean…?
intent-balance = 💰 Balance
intent-bonuses = 🎁 Bonus points
intent-top-up = 💳 Top up
intent-order-status = 📦 Where is my order
intent-order-history = 🧾 My orders
intent-repeat-order = 🔁 Repeat an order
intent-documents = 📄 Documents
intent-booking = 📅 Book an appointment
intent-booking-list = 📅 My appointments
intent-booking-reschedule = 🔄 Reschedule an appointment
intent-booking-cancel = ✖️ Cancel an appointment
intent-subscription = ⚙️ Plan and options
intent-offers = 🏷 Offers and discounts
intent-referral = 🤝 Invite a friend
intent-notifications = 🔔 Notifications
intent-operator = 🙋 Contact support
intent-privacy = 🔒 My data
intent-language = 🌐 Language
intent-help = ❓ What the bot can do
intent-greeting = 👋 Say hello
intent-thanks = 🙏 Say thanks
intent-order-cancel = 🚫 Cancel an order
intent-faq = ℹ️ About us
intent-unknown = ❔ Not understood

## Documents
documents-future = There are no documents for { $period } yet: that month hasn't started.
documents-none-at-all = You have no documents yet.
documents-none = We found no { $what }. Here are the documents you have:
documents-several = We found several documents. Which one should we send?
document-not-found = We couldn't find that document among yours.
doc-kind-any = documents
doc-kinds-act = certificates of completion
doc-kinds-invoice = invoices
doc-kinds-receipt = receipts
doc-kinds-contract = contracts
doc-kinds-statement = statements
documents-what-period = { $kind } for { $period }
pdf-number-date = No. { $number } dated { $date }
pdf-seller = Provider
pdf-seller-receipt = Payee
pdf-buyer = Customer
pdf-account = Account: { $account }
pdf-col-description = Description
pdf-col-qty = Qty
pdf-col-price = Price
pdf-col-amount = Amount
pdf-total = Total
pdf-note-act = The services for { $period } were provided in full and on time. The customer has no claims regarding their scope, quality or timing.
pdf-note-invoice = Invoice for { $period }. Please pay before your next charge date and quote your account number.
pdf-note-receipt = The payment for { $period } has been received. Thank you!
pdf-note-contract = This contract is in force from { $period } until either party ends it. The plan and options can be changed in the chat.
pdf-note-statement = Account statement for { $period }.
pdf-footer = { $business } · issued on { $date }

## Repeat order and offers
repeat-nothing = You have no delivered orders to repeat yet.
repeat-heading = Repeat order #{ $number }, placed on { $date }? Today's prices:
repeat-last-heading = Repeating your last delivered order, #{ $number }, placed on { $date }. Today's prices:
repeat-newest-offer = Your newest order, #{ $number }, placed on { $date }, is { $status }. You can repeat that one instead.
repeat-newest-button = 🔁 Repeat #{ $number }
offer-order-heading = Place this order? Today's price:
repeat-out-of-stock = Out of stock, so left out: { $items }
repeat-all-out-of-stock = Sorry, everything in that order is out of stock right now.
repeat-confirm-button = ✅ Place the order
cancel-button = Cancel
confirm-button = ✅ Confirm
repeat-placed = Order #{ $number } is placed: { $total }. Track it with /status.
repeat-already-placed = This order has already been placed: #{ $number }.
draft-stale = This confirmation has expired. Please start again.
repeat-sold-out-meanwhile = While you were deciding, this sold out: { $items }. The order wasn't placed. Please try repeating it again.
repeat-cancelled = OK, we won't place the order.
order-repeat-button = 🔁 Repeat
order-documents-button = 📄 Documents

## Top-up
top-up-ask = How much would you like to top up? Choose an amount or type it in digits.
top-up-not-a-number = Please type the amount in digits (for example, 2500) or "cancel".
top-up-not-positive = The amount must be more than zero.
top-up-too-small = The minimum top-up is { $min }.
top-up-too-large = That's too much: the maximum for one top-up is { $max }.
top-up-pay-button = 💳 Pay { $amount }
top-up-invoice-title = Balance top-up
top-up-invoice-description = Top-up for account { $account }
top-up-link = Top-up of { $amount }: press the button to pay. The money reaches your balance as soon as you pay.
top-up-declined = This invoice is already paid or out of date. Please ask for a new one: "top up".
top-up-unknown-payment = Your payment arrived, but we couldn't match it to a top-up. We'll check it and credit it manually.
top-up-paid = ✅ Paid: { $amount }. Balance: { $balance }.
top-up-already-credited = This payment has already been credited.
top-up-cancelled = OK, the top-up is cancelled.

## Step-up verification
otp-sent = To confirm, we sent a code to { $phone }. Type it here: it's valid for { $minutes } min.
otp-resend-button = Send the code again
otp-wrong = Wrong code. { $left ->
        [one] { $left } try left.
       *[other] { $left } tries left.
    }
otp-locked-now = Wrong code, and you have no tries left. Changes are locked for { $minutes } min.
otp-locked = Too many wrong codes. Please try again in { $minutes } min.
otp-expired = The code has expired. Send a new one?
otp-remind = Please type the code from the text message, or press "Cancel".
otp-wait-seconds = You can ask for a new code in { $seconds } { $seconds ->
        [one] second
       *[other] seconds
    }.
otp-wait-until = You've asked for several codes this hour. You can ask for a new one at { $time }.

## Subscription
subscription-none = You have no subscription to change.
subscription-overview =
    Your plan: <b>{ $tariff }</b> — { $tariff_fee } a month.
    Options: { $options }.
    Monthly fee: <b>{ $monthly }</b>.
subscription-no-options = none
subscription-paused = ⏸ The subscription is paused.
subscription-change-button = Change plan
subscription-add-option-button = ➕ { $option } (+{ $fee } a month)
subscription-remove-option-button = ➖ Turn off { $option }
subscription-pause-button = ⏸ Pause
subscription-resume-button = ▶️ Resume
subscription-choose-tariff = Choose a plan:
subscription-tariff = { $name } — { $fee } a month
subscription-tariff-current = { $name } — { $fee } a month (yours)
subscription-all-options-on = All options are already on.
subscription-no-options-to-remove = You have no options turned on.
subscription-choose-option-add = Which option should we turn on?
subscription-choose-option-remove = Which option should we turn off?
subscription-quote = { $change }: the monthly fee will be <b>{ $fee }</b> from { $date }. Confirm?
change-tariff = Switching to the { $name } plan
change-add-option = Turning on the { $name } option
change-remove-option = Turning off the { $name } option
change-pause = Pausing the subscription
change-resume = Resuming the subscription
change-refused-same-tariff = You're already on this plan, so there's nothing to change.
change-refused-unknown = There's no such plan or option. Please choose from the list: "change my plan".
change-refused-option-present = This option is already on.
change-refused-option-absent = This option isn't on.
change-refused-already-paused = The subscription is already paused.
change-refused-not-paused = The subscription is already active.
subscription-done = ✅ Done. { $change }: your monthly fee is { $fee } from { $date }.
subscription-cancelled = OK, nothing changes.

## Bonuses, offers, referral
offers-button = 🎁 An offer for you
referral-button = 🤝 Invite a friend
offer = A personal offer: { $text }
offer-order-button = 🛒 Order
offers-none = There are no personal offers for you right now. Check back later!
referral-link =
    Your link for friends: { $link }
    When a friend opens it and confirms their phone number, you get bonus points.
referral-credited = 🎉 A friend joined using your link. You've earned { $points_text } bonus { $points ->
        [one] point
       *[other] points
    }.

## Booking
booking-ask-service = Which service would you like to book?
booking-service-button = { $name } — { $price }
booking-unknown-service = We don't offer that service. Please choose from the list: "book".
booking-regular-staff = Your regular specialist is { $name }.
booking-free = Available: { $times }.
booking-staff-busy = { $name } is fully booked then, so here are the times of our other specialists.
booking-free-from = Available from { $from }: { $times }.
booking-or-write = Choose a time or type one that suits you, for example "Monday after 3 pm".
booking-and = and
booking-day-times = { $day } at { $times }
booking-no-slots = There's no availability in the coming days. Type another day or ask to talk to a person.
booking-nearest = The nearest available times: { $times }.
booking-in-past = That time has already passed.
booking-day-off = We're closed on { $day }.
booking-outside-hours = We're closed then: we're open from { $open } to { $close }.
booking-day-full = There's no availability on { $day }.
booking-taken = { $day } at { $time } is already taken.
booking-time-not-understood = We didn't catch the time. Type, for example, "tomorrow at 3 pm" or "20.01 at 14:00", or choose a button above.
booking-summary = { $service } with { $staff }: { $day } at { $time }, { $minutes } min, { $price }. Book it?
booking-confirm-button = ✅ Book
booking-move-summary = Move your { $service } from { $old } to { $day } at { $time } with { $staff }?
booking-move-button = ✅ Move
booking-done = ✅ You're booked: { $service } with { $staff }, { $date } at { $time }.
booking-moved = ✅ Your appointment has been moved: { $service } with { $staff }, { $date } at { $time }.
booking-calendar-caption = Add to your calendar
booking-my-button = 📅 My appointments
booking-just-taken = Sorry, that time has just been taken!
booking-not-offered = That time can't be booked. Please choose an available one.
booking-not-found = We couldn't find that appointment among yours.
booking-already-cancelled = This appointment has already been cancelled.
booking-none = You have no upcoming appointments.
booking-new-button = ✂️ Book
booking-list-title = Your appointments:
booking-item = • { $day } at { $time } — { $service } with { $staff }
booking-move-short = Reschedule
booking-cancel-short = Cancel
booking-move-which = Move { $when }
booking-cancel-which = Cancel { $when }
booking-none-to-change = You have no upcoming appointments, so there's nothing to reschedule or cancel.
booking-which-move = Which appointment should we move?
booking-which-cancel = Which appointment should we cancel?
booking-cancel-ask = Cancel this appointment?
    { $what }
booking-cancel-yes = Yes, cancel
booking-cancel-no = No, keep it
booking-cancelled = Appointment cancelled: { $what }
booking-kept = OK, nothing changes.
booking-cutoff-hours = Appointments can be cancelled or moved in the chat up to { $hours } { $hours ->
        [one] hour
       *[other] hours
    } before they start. { $phone ->
        [none] Ask to talk to a person
       *[other] Call us at { $phone } or ask to talk to a person
    }, and we'll do our best to help.
booking-cutoff-minutes = Appointments can be cancelled or moved in the chat up to { $minutes } min before they start. { $phone ->
        [none] Ask to talk to a person
       *[other] Call us at { $phone } or ask to talk to a person
    }, and we'll do our best to help.
operator-button = 👤 Talk to a person
booking-reminder-24h = ⏰ Reminder: tomorrow at { $time }, { $service } with { $staff }. Will you be there?
booking-reminder-2h = ⏰ In 2 hours, at { $time }: { $service } with { $staff }. See you soon!
booking-reminder-today = ⏰ Reminder: today at { $time }, { $service } with { $staff }. Will you be there?
booking-reminder-soon = ⏰ Soon, at { $time }: { $service } with { $staff }. See you soon!
booking-reminder-confirm = ✅ I'll be there
booking-see-you = Thank you, see you then!
booking-already-booked = You're already booked: { $what }

## Staff escalation: to the customer
support-opened = We've passed your question to a specialist. The answer will come here, in this chat. Meanwhile, feel free to add details: we'll pass everything on.
support-after-hours = Support is closed right now (hours: { $hours }). A specialist will answer after { $opens }.
support-already-open = A specialist already has your question and will answer here. We'll pass on everything you write.
support-taken = 👤 A specialist has joined the conversation.
support-taken-signed = 👤 A specialist has joined the conversation — { $name }.
support-closed-customer = Your request is closed. Please rate our help from 1 (poor) to 5 (excellent).
support-thanks-rating = Thank you for your rating!
support-rated-already = We've already counted your rating. Thank you!

## Staff escalation: in the staff group
support-reason-requested = the customer asked for a person
support-reason-complaint = a complaint
support-reason-misunderstood = the bot misunderstood the customer twice
support-reason-cancel-order = the customer asks to cancel an order
support-reason-cancel-order-number = the customer asks to cancel order #{ $number }
support-priority-critical = 🔴 Critical
support-priority-high = 🟠 High
support-priority-normal = 🟢 Normal
support-card-title = <b>Case #{ $id }</b>
support-card-customer = Customer: { $name }, { $phone }
support-card-language = Language: { $language } · Tags: { $tags }
support-card-balance = Balance: { $balance }
support-card-order = Order #{ $number }: { $status }
support-card-booking = Booking: { $when }, { $service }
support-card-reason = Reason: { $reason } · Priority: { $priority }
support-card-messages = The customer's last messages:
support-topic-recreated = (The topic was deleted, so the bot created it again; the case continues.)
support-rated = The customer rated the help: { $rating } of 5.
support-general-commands = In the group: /stats — today's figures, /find phone or name — find a customer, /broadcast segment text — a broadcast to customers (previewed first). In a customer's topic: /close, /priority critical|high|normal, /assign.
support-topic-commands = In a customer's topic: /close — close the case, /priority critical|high|normal, /assign — take it. Any other text goes to the customer.
support-outside-topic = To answer a customer, write in their topic — messages here do not reach customers.
support-unknown-topic = This topic belongs to no customer — the message was not sent to anyone.
support-no-open-case = The customer has no open case.
support-case-closed = The case is closed — the customer will not get this message. They can ask for a person again to continue.
support-priority-set = Priority: { $priority }.
support-priority-usage = Give a priority: /priority critical, /priority high or /priority normal.
support-assigned = { $name } took the case.
support-closed = The case is closed ({ $name }). The customer was asked to rate the help.
support-crm-note = Telegram: case #{ $id } passed to staff — { $reason }, priority: { $priority }.
support-closed-detached = The case is closed ({ $name }). The customer has left the chat of this case — they cannot be asked for a rating, and nobody was told.
support-customer-blocked = ⚠️ The customer has blocked the bot — messages do not reach them.
support-sla-ping = ⏰ The customer has been waiting for { $minutes } min (priority: { $priority }).
support-stats =
    <b>Figures for { $date }</b>
    Requests: { $requests } ({ $by_intent })
    Handled by the bot alone: { $automated }
    Passed to staff: { $escalations }
    Median first response: { $median }
support-find-usage = Write at least 3 characters: /find +7701 or /find Erlan.
support-find-none = Nobody found for "{ $query }".
support-find-title = Found:
support-find-topic = topic
support-alert-ids = ⚠️ { $who } (Telegram { $user }) asked for other customers' or unknown orders, documents or bookings (or pressed buttons that were not theirs) three times within an hour.
support-alert-contact = ⚠️ { $who } (Telegram { $user }) tried to sign in with someone else's phone number.
support-alert-replaced = ⚠️ The phone number of { $who } was confirmed from another Telegram account ({ $new }); the earlier account ({ $old }) has been unlinked. If the customer did not change their number or phone, get in touch with them.
support-left-logout = 🚪 The customer logged out (/logout).
support-left-forget = 🚪 The customer asked to delete their data (/forget).
support-left-replaced = 🚪 The customer's phone number was confirmed from another Telegram account; the earlier chat has been unlinked.
support-detached = Replies in this topic now reach no one. The case stays open: when the customer asks for a person again it continues here; or close it with /close.
support-detached-reply = ⚠️ The customer has left the chat of this case — the message reached no one.
support-customer-back = ↩️ The customer is back in the chat and asked for a person — replies reach them again.
support-not-staff = { $name }, only staff (the group's administrators) can answer customers and give the bot commands — nothing was sent.
support-big-file = 📎 The customer sent a { $megabytes } MB file — over the Bot API limit (20 MB): the bot does not download or check it. The copy is below; open it in Telegram.

## Notifications: the settings (/notifications) and what the bot sends first
notifications-title = 🔔 Notifications. Tap a category to turn it on or off:
notifications-on = { $category } ✅
notifications-off = { $category } ❌
notifications-category-orders = Orders
notifications-category-payments = Payments
notifications-category-bookings = Appointments
notifications-category-news = News
notifications-category-service = Service
notify-payment-due = 💳 { $days ->
        [0] Today
        [1] Tomorrow
       *[other] In { $days } days
    }, { $date }, { $amount } will be charged for your plan. Top up in advance to keep your services running.
notify-low-balance = ⚠️ Your balance is { $balance } — enough for about { $days } { $days ->
        [one] day
       *[other] days
    }. Top up to keep your services running.
notify-order-update = 📦 Order #{ $number }: its status has changed.
notify-order-status = 📦 Order #{ $number }: { $status }.
notify-button-top-up = Top up
notify-button-order = Track the order

## Events from the business's systems (POST /api/v1/events), sent as notifications
event-payment-received = ✅ Your payment of { $amount } has arrived, thank you!{ $balance ->
        [none] {""}
       *[other] {" "}Balance: { $balance }.
    }
event-booking-changed = 📅 { $change ->
        [booked] You're booked
        [moved] Your appointment has been moved
       *[cancelled] Your appointment has been cancelled
    }{ $when ->
        [none] .
       *[other] : { $when }.
    }

## The notification sender: a blocked customer told to staff, an invoice with its document
notify-staff-blocked = 🚫 The customer blocked the bot — a notification was not delivered.
notify-document = 🧾 A new document: { $title }
notify-document-unavailable = 🧾 A new document: { $title }. We couldn't attach it just now: press the button and we'll send it.
notify-button-document = Send the document
notify-button-map = Show on the map

## The Mini App's API (/api/v1/app/): alerts to the staff group
miniapp-alert-unauthorized = ⚠️ { $who } (Telegram { $user }) called the Mini App three times in an hour with invalid sign-in data (a wrong signature, stale or missing data). Someone may be probing for access.
miniapp-alert-unknown-user = An unknown user

## Broadcasts from the staff group (/broadcast): preview, confirmation, progress, report
broadcast-usage =
    Broadcast: /broadcast segment [service] text
    Segments: all · tag:vip · tariff:max · active-order (customers with an order under way).
    "service" is for outages and maintenance: everyone gets it except those who turned service messages off; without it the broadcast is news, for those who turned news on.
    The text may start on the next line. To stop one: /broadcast stop number.
broadcast-unknown-segment = I don't know the segment "{ $segment }".
broadcast-stop-usage = Give the broadcast's number: /broadcast stop 7.
broadcast-too-long = The text is too long: { $length } characters, and Telegram takes at most { $max }. Please shorten it — nothing was saved.
broadcast-no-orders = There is no "active-order" segment here: orders are not connected to the bot.
broadcast-backend-down = Could not gather the segment: the customer system did not answer. Please try again a little later — nothing was saved.
broadcast-nobody = No customer in "{ $segment }" is connected to the bot — there is no one to send it to.
broadcast-segment-all = all customers
broadcast-segment-tag = customers tagged "{ $value }"
broadcast-segment-tariff = customers on the "{ $value }" plan
broadcast-segment-active-order = customers with an order under way
broadcast-preview-title = 📣 <b>Broadcast #{ $id }</b> — draft
broadcast-preview-segment = Segment: { $segment }
broadcast-category-news = Category: news (only those who turned news on get it)
broadcast-category-service = Category: service (everyone gets it except those who turned it off)
broadcast-recipients = Recipients: { $recipients } (in the segment { $in_segment }; { $category ->
        [news] news not turned on
       *[other] service turned off
    }: { $opted_out }; blocked the bot: { $blocked })
broadcast-quiet = 🌙 Quiet hours now — the messages will go at { $end }.
broadcast-preview-text = Customers will see:
broadcast-button-send = Send { $count }
broadcast-button-cancel = Cancel
broadcast-button-stop = Stop
broadcast-only-staff = Only staff can start and stop broadcasts.
broadcast-unknown = There is no broadcast #{ $id }.
broadcast-started = Broadcast #{ $id } started.
broadcast-cancelled = Broadcast #{ $id } cancelled — nothing was sent.
broadcast-already-running = Broadcast #{ $id } is already running.
broadcast-already-cancelled = Broadcast #{ $id } was cancelled and cannot be sent. Type /broadcast again.
broadcast-already-finished = Broadcast #{ $id } is already over.
broadcast-stop-draft = Broadcast #{ $id } has not started — cancel it with the Cancel button.
broadcast-not-running = Broadcast #{ $id } is not running — there is nothing to stop.
broadcast-stopping = Broadcast #{ $id } stopped: messages that will not go — { $count }.
broadcast-progress = 📣 Broadcast #{ $id }: sent { $sent } of { $total } (skipped: { $skipped })
broadcast-report =
    📣 <b>Broadcast #{ $id } { $outcome ->
        [stopped] stopped
       *[done] finished
    }</b>
    Sent: { $sent } of { $total }
    Skipped: not turned on or turned off — { $opted_out }, blocked the bot — { $blocked }
    Could not be sent: { $failed }
    Stopped: { $stopped }
broadcast-finished = { $outcome ->
        [stopped] ⏹ Broadcast #{ $id } stopped
       *[done] ✅ Broadcast #{ $id } finished
    }: sent { $sent } of { $total }.

## The Mini App in the chat (F14)
miniapp-menu-button = My account
miniapp-open-button = Open my account

## The Mini App's shop and top-up (F14)
shop-category-grocery = Groceries
shop-category-pets = Pet supplies
shop-category-appliances = Appliances
miniapp-out-of-stock = Not enough in stock: { $items }. The order wasn't placed: remove these items or reduce their quantity.
miniapp-top-up-invalid = Enter an amount in digits, from { $min } to { $max }.

## Support: the customer's own end of a case, idle cases, unidentified people asking for a person
support-person-button = 🙋 Talk to a person
support-offer-person = Sorry, we still didn't understand. You can talk to a person — a specialist will answer here, in this chat. Or choose what you need:
support-solved-button = ✅ My issue is solved
support-solved-customer = Glad your issue is solved! The request is closed — write any time if you need anything. Please rate how we helped: 1 — poor, 5 — excellent.
support-solved-already = This request is already closed. If you need help, write any time.
support-solved-note = ✅ The customer says the issue is solved — the case is closed.
support-bot-answered = 🤖 The bot answered this itself: { $intent } ({ $name }).
support-idle-closed = 💤 No messages in this case for { $hours } h — it was closed automatically.
support-idle-closed-customer = We've closed your request as there have been no new messages for a while. If you still need help, just write — we're here.
support-stats-unrecognised = <b>What the bot most often did not understand (7 days):</b>
support-stats-unrecognised-none = No messages the bot did not understand in the last 7 days.
staff-lead-operator = 🙋 Someone who is not among the customers asks to be contacted: { $name }, phone { $phone } (Telegram id { $user }). Message: "{ $text }". Please call or text them at this number.
lead-operator-sent = We've passed your request to a specialist, who will contact you at the number you shared.
lead-operator-already = Your request is already with a specialist, who will contact you at the number you shared.
lead-operator-no-phone = So that a specialist can contact you, please share your phone number — press the "Share my phone number" button at the bottom of the screen.
